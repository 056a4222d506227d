#!/usr/bin/python3
"""tests/smtpd.py: the SMTP server test_smtp.c talks to (aiosmtpd).

usage: smtpd.py DIR [--starttls CERT KEY | --smtps CERT KEY] [--auth [--no-plain]]

Listens on 127.0.0.1, a free port written to DIR/port once it accepts.
Appends one line to DIR/connections for each connection. Reads DIR/mode on
every MAIL, RCPT and end of DATA, so a test switches answers while it runs:
  accept         (also when DIR/mode is missing)
  tempfail-rcpt  451 4.3.0 on RCPT
  tempfail-data  451 4.3.0 after the data
  reject-rcpt    550 5.1.1 on RCPT
  drop           closes the connection on MAIL, without an answer
  cut-data       answers DATA with 354, reads the first line of the data and
                 closes the connection (cut mid-DATA; nothing kept)
  lost-reply     keeps the mail, then closes the connection instead of
                 answering 250 (the client cannot tell it was delivered)
  421-connect    greets a new connection with 421 and closes it
  silent         accepts new connections and never says a word
  slow           waits DIR/delay seconds (default 1) before each answer to
                 MAIL, RCPT and the data
Each accepted mail N (1, 2, ...) is kept as DIR/mail/N.eml, its exact bytes
after dot-unstuffing, and DIR/mail/N.env: the MAIL FROM address ("<>" for
the null sender), then one RCPT address a line.
--auth requires AUTH before MAIL: PLAIN or LOGIN as agent / "pass word:1"
(else 535), or XOAUTH2 as agent with the token "token-1234" (else, as large
providers do, a 334 error challenge, then 535 after the client's empty line).
--no-plain leaves PLAIN out of the mechanisms offered.
SIGTERM stops it.
"""
import asyncio
import base64
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USER, PASSWORD, TOKEN = "agent", "pass word:1", "token-1234"


def write_atomic(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)


class Handler:
    def __init__(self, folder):
        self.dir = folder
        self.count = 0
        os.makedirs(os.path.join(folder, "mail"), exist_ok=True)

    def mode(self):
        try:
            with open(os.path.join(self.dir, "mode")) as f:
                return f.read().strip()
        except FileNotFoundError:
            return "accept"

    async def slow(self):
        if self.mode() == "slow":
            try:
                with open(os.path.join(self.dir, "delay")) as f:
                    delay = float(f.read().strip())
            except (FileNotFoundError, ValueError):
                delay = 1.0
            await asyncio.sleep(delay)

    async def handle_MAIL(self, server, session, envelope, address, options):
        await self.slow()
        if self.mode() == "drop":
            server.transport.abort()
            return "421 4.3.0 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        await self.slow()
        mode = self.mode()
        if mode == "tempfail-rcpt":
            return "451 4.3.0 try again later"
        if mode == "reject-rcpt":
            return "550 5.1.1 user unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        await self.slow()
        mode = self.mode()
        if mode == "tempfail-data":
            return "451 4.3.0 try again later"
        self.count += 1
        base = os.path.join(self.dir, "mail", str(self.count))
        env = "".join(a + "\n" for a in [envelope.mail_from] + envelope.rcpt_tos)
        write_atomic(base + ".env", env.encode())
        write_atomic(base + ".eml", envelope.original_content)
        if mode == "lost-reply":
            server.transport.abort()
            return "421 4.3.0 closing"
        return "250 2.0.0 queued as %d" % self.count

    async def auth_XOAUTH2(self, server, args):
        if len(args) == 2:
            blob = base64.b64decode(args[1])
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=True)
        want = ("user=%s\x01auth=Bearer %s\x01\x01" % (USER, TOKEN)).encode()
        if blob == want:
            return AuthResult(success=True, auth_data=USER)
        await server.challenge_auth(b'{"status":"401"}')
        return AuthResult(success=False, handled=False)


def authenticator(server, session, envelope, mechanism, data):
    ok = (isinstance(data, LoginPassword) and data.login == USER.encode()
          and data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


def main():
    args = sys.argv[1:]
    folder = args.pop(0)
    tls = ctx = None
    auth = False
    exclude = []
    while args:
        a = args.pop(0)
        if a in ("--starttls", "--smtps"):
            tls = a
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(args.pop(0), args.pop(0))
        elif a == "--auth":
            auth = True
        elif a == "--no-plain":
            exclude = ["PLAIN"]
        else:
            sys.exit("smtpd.py: unknown option " + a)
    handler = Handler(folder)
    conns = open(os.path.join(folder, "connections"), "a", buffering=1)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    class CountingSMTP(SMTP):
        def connection_made(self, transport):
            if self.transport is None:
                conns.write("%s:%d\n" % transport.get_extra_info("peername"))
            super().connection_made(transport)

        async def smtp_DATA(self, arg):
            if handler.mode() != "cut-data":
                return await super().smtp_DATA(arg)
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readline()
            self.transport.abort()

    class Refusing(asyncio.Protocol):
        """421 on connect, or (silent) a connection that is never answered."""
        def __init__(self, mode):
            self.mode = mode

        def connection_made(self, transport):
            conns.write("%s:%d %s\n" % (transport.get_extra_info("peername") + (self.mode,)))
            if self.mode == "421-connect":
                transport.write(b"421 4.3.2 smtpd.test service not available\r\n")
                transport.close()

        def data_received(self, data):
            pass

    def factory():
        mode = handler.mode()
        if mode in ("421-connect", "silent"):
            return Refusing(mode)
        return CountingSMTP(
            handler, hostname="smtpd.test", loop=loop,
            tls_context=ctx if tls == "--starttls" else None,
            require_starttls=tls == "--starttls",
            auth_required=auth, auth_require_tls=tls != "--smtps",
            auth_exclude_mechanism=exclude, authenticator=authenticator)

    server = loop.run_until_complete(loop.create_server(
        factory, "127.0.0.1", 0, ssl=ctx if tls == "--smtps" else None))
    port = server.sockets[0].getsockname()[1]
    write_atomic(os.path.join(folder, "port"), b"%d\n" % port)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.run_forever()


if __name__ == "__main__":
    main()
