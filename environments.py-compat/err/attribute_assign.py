settings.DEBUG = True
