x = 1
home = os.environ['HOME']
