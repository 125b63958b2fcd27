environments = {
    'a': 1,

other = 2
