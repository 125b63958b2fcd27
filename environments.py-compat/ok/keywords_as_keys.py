d = {'import': 1, 'class': 2, 'None': None, 'True': True, 'False': False}
match = 'soft keyword'
case = 1
type = 'also soft'
_ = 0
__private = 1
