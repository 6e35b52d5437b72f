OK_FORMAT = True

test = {'name': 'throttle',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.throttle(submit, partner)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
