x = {**other}
