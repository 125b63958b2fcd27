x = 'text' b'bytes'
