hosts = ['a']
hosts += ['b']
