a = b = c = {'shared': True}
x = y = 1, 2
