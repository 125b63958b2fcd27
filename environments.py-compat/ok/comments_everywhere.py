# leading comment
# -*- coding: utf-8 -*-

environments = {  # after the brace
    # before a key
    'a'  # between key and colon
    :  # after the colon
    [  # inside a list
        1,  # after an item
        # alone on a line
        2
        # before the closer
    ],  # after the closer
    # trailing
}  # after the dict
# between statements
other = 1  # end
# final comment without newline at end