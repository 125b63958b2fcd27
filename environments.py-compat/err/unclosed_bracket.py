environments = {
    'a': [1, 2,
}
