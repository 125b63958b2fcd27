x = set([1, 2])
