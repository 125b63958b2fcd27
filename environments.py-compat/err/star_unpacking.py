x = [*other]
