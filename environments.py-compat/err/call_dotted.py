p = os.path.join('a', 'b')
