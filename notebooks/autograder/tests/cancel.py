OK_FORMAT = True

test = {'name': 'cancel',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.cancel(trial, mailer)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
