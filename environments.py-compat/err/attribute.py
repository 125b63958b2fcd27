x = settings.DEBUG
