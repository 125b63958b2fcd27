environments = {}
environments['production'] = {'hosts': []}
