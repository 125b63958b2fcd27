x = -True
