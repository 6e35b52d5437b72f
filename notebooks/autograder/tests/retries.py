OK_FORMAT = True

test = {'name': 'retries',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.retries(forecast, weather)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
