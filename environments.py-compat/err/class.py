class Settings:
    x = 1
