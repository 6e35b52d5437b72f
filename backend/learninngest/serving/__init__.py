"""Process plumbing: how the kit's HTTP servers and child processes run, whoever starts them.

`cli`, `kit/`, the engine's main and the tests share it:

- `limits.py`: the limits every uvicorn server runs with (head deadline, connection cap,
  head-size bound; the bounded httptools or h11 protocol);
- `body_timeout.py`: the ASGI middleware answering 408 to a body that does not arrive;
- `ports.py`: free and busy ports (stdlib only);
- `child_process.py`: stopping a child, SIGTERM then SIGKILL (stdlib only);
- `parent_death.py`: a child that stops when its parent dies, even by SIGKILL (stdlib only);
- `backend_processes.py`: the supervisor of `learninngest up --workers N`, one port;
- `backend_child.py`: one of its backend processes.

Nothing is imported here, so `learninngest engine` can take the stdlib-only modules without
the backend's stack.
"""
