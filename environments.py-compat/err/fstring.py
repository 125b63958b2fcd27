user = 'me'
home = f'/home/{user}'
