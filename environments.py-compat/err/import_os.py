import os
environments = {'home': os.environ['HOME']}
