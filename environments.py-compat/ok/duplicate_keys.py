d = {'a': 1, 'b': 2, 'a': 3}
numbers = {1: 'int', 1.0: 'float', True: 'bool'}
zeros = {0: 'a', -0.0: 'b', False: 'c', 0j: 'd'}
tuples = {(1, 2): 'x', (1.0, 2): 'y'}
nested = {'k': {'a': 1}, 'k': {'b': 2}}
