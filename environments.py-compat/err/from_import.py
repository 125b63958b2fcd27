# settings
from os import environ
