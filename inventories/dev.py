"""Development: the local sandbox host `make demo` creates, a systemd container whose sshd
is published on 127.0.0.1:2222. All six components run on it.

Hosts are reached as a non-root user with passwordless sudo, the way production hosts are.
"""

_sandbox = (
    "gatewayz-sandbox",
    {
        "ssh_hostname": "127.0.0.1",
        "ssh_port": 2222,
        "ssh_user": "deploy",
        "ssh_key": ".molecule/sandbox/id_ed25519",
        # Written by the harness from the sandbox's own host keys, which change each time
        # the sandbox is re-created.
        "ssh_known_hosts_file": ".molecule/sandbox/known_hosts",
        "ssh_strict_host_key_checking": "yes",
        "_sudo": True,
    },
)

prometheus = [_sandbox]
mimir = [_sandbox]
loki = [_sandbox]
tempo = [_sandbox]
redis_exporter = [_sandbox]
grafana = [_sandbox]
