#!/usr/bin/python3
"""bench/idlefloor.py: the server's own IDLE latency, the floor of the agent's.

usage: idlefloor.py HOST PORT USER PASSWORD MAILDIR ROUNDS
       idlefloor.py --sink SINKDIR MAILDIR ROUNDS

A bare IMAP client logs in, selects INBOX and waits in IDLE; each round a
small mail is delivered into MAILDIR (tmp/, then new/) and the time until the
server's untagged EXISTS reaches the client is taken. Prints the sorted
latencies in ms, one a line. Loopback only.

--sink: the agent's latency, measured the same way: each round a complete
request is delivered into MAILDIR and the time until a new file appears in
SINKDIR (smtp-sink -d: the first mail accepted) is taken, polling every ms.
"""
import os
import socket
import sys
import time


def sink(sinkdir, box, rounds):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import mix
    owner = os.stat(os.path.join(box, "new"))
    lat = []
    for i in range(int(rounds)):
        before = len(os.listdir(sinkdir))
        name = f"lat.{os.getpid()}.{i}"
        tmp = os.path.join(box, "tmp", name)
        with open(tmp, "wb") as m:
            m.write(mix.plain_request(i + 1, f"lat{os.getpid()}"))
        os.chown(tmp, owner.st_uid, owner.st_gid)
        t0 = time.monotonic()
        os.rename(tmp, os.path.join(box, "new", name))
        while len(os.listdir(sinkdir)) <= before and time.monotonic() - t0 < 10:
            time.sleep(0.001)
        lat.append((time.monotonic() - t0) * 1000)
        time.sleep(0.3)
    for v in sorted(lat):
        print(f"{v:.0f}")


def main():
    if sys.argv[1] == "--sink":
        return sink(*sys.argv[2:5])
    host, port, user, pw, box, rounds = sys.argv[1:7]
    s = socket.create_connection((host, int(port)))
    f = s.makefile("rb")

    def cmd(tag, line):
        s.sendall(f"{tag} {line}\r\n".encode())
        while True:
            r = f.readline()
            if not r:
                sys.exit("connection closed")
            if r.startswith(tag.encode() + b" "):
                if b" OK" not in r:
                    sys.exit(r.decode(errors="replace"))
                return

    f.readline()  # greeting
    cmd("a1", f'LOGIN "{user}" "{pw}"')
    cmd("a2", "SELECT INBOX")
    lat = []
    owner = os.stat(os.path.join(box, "new"))
    for i in range(int(rounds)):
        s.sendall(b"i IDLE\r\n")
        while not f.readline().startswith(b"+"):
            pass
        name = f"floor.{os.getpid()}.{i}"
        tmp = os.path.join(box, "tmp", name)
        with open(tmp, "w") as m:
            m.write(f"From: a@example.test\nSubject: floor {i}\n\nround {i}\n")
        os.chown(tmp, owner.st_uid, owner.st_gid)
        t0 = time.monotonic()
        os.rename(tmp, os.path.join(box, "new", name))
        while True:
            r = f.readline()
            if not r:
                sys.exit("connection closed")
            if r.startswith(b"* ") and r.rstrip().endswith(b"EXISTS"):
                break
        lat.append((time.monotonic() - t0) * 1000)
        s.sendall(b"DONE\r\n")
        while not f.readline().startswith(b"i "):
            pass
        time.sleep(0.3)
    s.sendall(b"z LOGOUT\r\n")
    for v in sorted(lat):
        print(f"{v:.0f}")


if __name__ == "__main__":
    main()
