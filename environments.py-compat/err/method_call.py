x = ', '.join(['a'])
