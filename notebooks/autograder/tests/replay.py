OK_FORMAT = True

test = {'name': 'replay',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.replay(raffle, raffle_desk)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
