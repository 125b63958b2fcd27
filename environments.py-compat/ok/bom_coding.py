# -*- coding: utf-8 -*-
# vim: set fileencoding=utf-8 :
name = 'BOM then coding line'
