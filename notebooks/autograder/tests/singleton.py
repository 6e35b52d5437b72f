OK_FORMAT = True

test = {'name': 'singleton',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.singleton(report, reports)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
