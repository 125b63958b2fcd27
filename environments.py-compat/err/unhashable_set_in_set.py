s = {frozen, {1}}
