OK_FORMAT = True

test = {'name': 'concurrency',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.concurrency(export, exports)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
