x = 1  # café in latin-1
