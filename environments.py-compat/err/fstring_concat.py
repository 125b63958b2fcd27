x = ('a'
     F'b')
