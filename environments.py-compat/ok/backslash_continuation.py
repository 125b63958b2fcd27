x = \
    1
y = [1,
     2] \
    ; z = \
  {"a": \
   1}
long = "one " \
       "two " \
       "three"
