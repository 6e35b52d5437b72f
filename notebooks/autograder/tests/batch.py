OK_FORMAT = True

test = {'name': 'batch',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.batch(ingest, db)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
