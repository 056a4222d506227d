#!/usr/bin/python3
"""bench/mix.py: the mails of a benchmark, written into a Maildir.

usage: mix.py MAILDIR COUNT PREFIX [plain|realistic]

plain      COUNT complete plain-text requests of one entity (DWR), one
           service each: the load bench/run has always measured.
realistic  COUNT mails as the mailbox gets them: of every 10, 7 requests
           (Outlook-style multipart/alternative text and HTML, two services,
           a signature and a legal notice, from 100 requesters of the five
           entities of etc/entities.csv, a PDF of 40-160 kB on one request in
           ten), 2 approvals by the entity's AIO or CIO replying to an earlier
           request with the quoted approval request below, and 1 out-of-office
           auto-reply. Case k is the k-th request (all are complete).

Each mail is written in MAILDIR/tmp, then moved to MAILDIR/new, so a reader
never sees half a mail. Prints "requests replies autoreplies bytes".
"""
import base64
import os
import random
import sys

ENTITIES = [  # code, domain, aio, cio
    ("DWR", "water.ca.gov", "aio@water.ca.gov", "cio@water.ca.gov"),
    ("CHP", "chp.ca.gov", "it.chief@chp.ca.gov", "it.chief@chp.ca.gov"),
    ("DMV", "dmv.ca.gov", "aio@dmv.ca.gov", "cio@dmv.ca.gov"),
    ("CSU", "calstate.edu", "aio@calstate.edu", "cio@calstate.edu"),
    ("DWR", "water.ca.gov", "deputy.aio@water.ca.gov", "cio@water.ca.gov"),
]
FIRST = ["Dana", "Ana", "Luis", "Mei", "Omar", "Priya", "Sam", "Tomas", "Grace", "Ken"]
LAST = ["Lee", "Ruiz", "Nguyen", "Patel", "Kim", "Garcia", "Smith", "Chen", "Brown", "Diaz"]
CITIES = [("Sacramento", "95814"), ("Fresno", "93721"), ("Redding", "96001"),
          ("Oakland", "94612"), ("San Diego", "92101"), ("Eureka", "95501")]
SERVICES = ["Dedicated Internet Access", "broadband", "MPLS", "SD-WAN", "Ethernet"]
PROVIDERS = ["Comcast Business", "AT&T", "Frontier", "Verizon Business", "Lumen"]
REASONS = [("availability", "CGEN has no service at this site."),
           ("features", "CGEN does not offer static addresses with this service."),
           ("functionality", "CGEN cannot give this site the redundancy it needs.")]
DATE = "Thu, 26 Nov 2026 08:00:00 -0800"


def requester(i):
    e = ENTITIES[i % 4]
    f, l = FIRST[i % 10], LAST[(i // 10) % 10]
    return e, f"{f} {l}", f"{f.lower()}.{l.lower()}{i}@{e[1]}"


def plain_request(n, prefix):
    e = ENTITIES[0]
    return (f"From: Requester {n} <req{n}@water.ca.gov>\nTo: cgen@cdt.ca.gov\n"
            f"Subject: CGEN exemption request {n}\nMessage-ID: <{prefix}.{n}@water.ca.gov>\n"
            f"Date: {DATE}\n\nEntity: {e[0]}\nServices:\n"
            f"- 2 x 100 Mbps Dedicated Internet Access at {100 + n} Industrial Blvd, "
            "West Sacramento, CA 95691\n"
            "Reason: no CGEN service at the site\nReason Category: availability\n"
            "Contract Term: 36 months\nEarly Termination: none\nExtension Options: none\n"
            "Total Cost: $97,560.00\nCost Items:\n- Installation: $1,200.00\n"
            "- Monthly service: $96,360.00\nProvider: Comcast Business\n").encode()


def qp(s):
    out = []
    for line in s.split("\n"):
        enc = line.replace("=", "=3D")
        while len(enc) > 75:
            cut = 75
            while enc[cut - 2:cut].find("=") >= 0 and cut > 70:
                cut -= 1
            out.append(enc[:cut] + "=")
            enc = enc[cut:]
        out.append(enc)
    return "\r\n".join(out)


def realistic_request(n, k, prefix, rnd, pdf, who):
    e, name, addr = requester(who)
    city, zipc = CITIES[k % len(CITIES)]
    s1, s2 = rnd.sample(SERVICES, 2)
    cat, why = REASONS[k % len(REASONS)]
    months = rnd.choice([12, 24, 36, 60])
    m1, m2 = rnd.randrange(200, 3000), rnd.randrange(100, 1500)
    inst = rnd.randrange(0, 2500)
    total = (m1 + m2) * months + inst
    fields = [
        ("Entity", e[0]),
        ("Services", None),
        ("", f"\u2022 {rnd.randrange(1, 4)} x {rnd.choice([50, 100, 500, 1000])} Mbps {s1} "
             f"at {100 + k} Capitol Mall, {city}, CA {zipc}"),
        ("", f"\u2022 1 x {rnd.choice([25, 50, 100])} Mbps {s2} at {200 + k} J Street, "
             f"{city}, CA {zipc}"),
        ("Reason", why + " The site serves field staff around the clock and cannot wait "
                         "for a build-out."),
        ("Reason Category", cat),
        ("Contract Term", f"{months} months"),
        ("Early Termination", "none"),
        ("Extension Options", "two 12-month options"),
        ("Total Cost", f"${total:,}.00"),
        ("Cost Items", None),
        ("", f"\u2022 Installation: ${inst:,}.00"),
        ("", f"\u2022 {s1}: ${m1 * months:,}.00"),
        ("", f"\u2022 {s2}: ${m2 * months:,}.00"),
        ("Provider", rnd.choice(PROVIDERS)),
    ]
    sig = (f"\nThank you,\n\n{name}\nIT Procurement Analyst\n{e[0]} | Information Technology "
           f"Division\n1416 9th Street, Sacramento, CA 95814\n(916) 555-{1000 + k % 9000:04d}\n\n"
           "CONFIDENTIALITY NOTICE: This communication with its contents may contain "
           "confidential and/or legally privileged information. It is solely for the use of "
           "the intended recipient(s). Unauthorized interception, review, use or disclosure "
           "is prohibited and may violate applicable laws.\n")
    text = "Hello CDT team,\n\nPlease find our exemption request below.\n\n"
    text += "".join(f"{v}\n" if not k_ else f"{k_}:\n" if v is None else f"{k_}: {v}\n"
                    for k_, v in fields) + sig
    html_rows = "".join(
        f'<p class="MsoNormal"><b><span style="font-family:&quot;Calibri&quot;,sans-serif">'
        f"{k_}:</span></b><span style=\"font-family:&quot;Calibri&quot;,sans-serif\"> "
        f"{v or ''}<o:p></o:p></span></p>\n" if k_ else
        f'<p class="MsoListParagraph" style="margin-left:.5in;text-indent:-.25in">'
        f'<span style="font-family:Symbol">\u00b7<span style="font:7.0pt &quot;Times New '
        f'Roman&quot;">&nbsp;&nbsp; </span></span>{v[2:]}<o:p></o:p></p>\n'
        for k_, v in fields)
    html = ("<html xmlns:o=\"urn:schemas-microsoft-com:office:office\"><head>"
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">"
            "<style><!-- p.MsoNormal {margin:0in;font-size:11.0pt;font-family:\"Calibri\","
            "sans-serif;} p.MsoListParagraph {margin-left:.5in;} --></style></head>"
            "<body lang=\"EN-US\"><div class=\"WordSection1\">\n"
            "<p class=\"MsoNormal\">Hello CDT team,<o:p></o:p></p>\n<p class=\"MsoNormal\">"
            "Please find our exemption request below.<o:p></o:p></p>\n" + html_rows +
            "".join(f"<p class=\"MsoNormal\">{line}<o:p></o:p></p>\n"
                    for line in sig.split("\n")) + "</div></body></html>\n")
    b1, b2 = f"_000_{prefix}{n}alt_", f"_004_{prefix}{n}mix_"
    alt = (f"--{b1}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
           f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{qp(text)}\r\n"
           f"--{b1}\r\nContent-Type: text/html; charset=\"utf-8\"\r\n"
           f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{qp(html)}\r\n--{b1}--\r\n")
    head = (f"From: {name} <{addr}>\r\nTo: \"cgen@cdt.ca.gov\" <cgen@cdt.ca.gov>\r\n"
            f"Subject: CGEN Exemption Request - {e[0]} {city} site\r\n"
            f"Thread-Topic: CGEN Exemption Request\r\nDate: {DATE}\r\n"
            f"Message-ID: <{prefix}.{n}.{k}@{e[1]}>\r\nAccept-Language: en-US\r\n"
            "Content-Language: en-US\r\nX-MS-Has-Attach: " + ("yes" if pdf else "") +
            "\r\nMIME-Version: 1.0\r\n")
    if not pdf:
        return (head + f"Content-Type: multipart/alternative; boundary=\"{b1}\"\r\n\r\n" +
                alt).encode()
    return (head + f"Content-Type: multipart/mixed; boundary=\"{b2}\"\r\n\r\n--{b2}\r\n"
            f"Content-Type: multipart/alternative; boundary=\"{b1}\"\r\n\r\n{alt}\r\n"
            f"--{b2}\r\nContent-Type: application/pdf; name=\"Quote-{k}.pdf\"\r\n"
            f"Content-Disposition: attachment; filename=\"Quote-{k}.pdf\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{pdf}\r\n--{b2}--\r\n").encode()


def approval(n, case, prefix, rnd, who):
    e = ENTITIES[who % 4]  # the entity of the case's request
    role, addr = ("AIO", e[2]) if rnd.random() < 0.5 else ("CIO", e[3])
    return (f"From: \"Officer, {role}@{e[0]}\" <{addr}>\r\nTo: cgen@cdt.ca.gov\r\n"
            f"Subject: RE: [CGEN-2026-{case:04d}] Approval needed ({role}): CGEN exemption "
            f"for {e[0]}\r\nDate: {DATE}\r\nMessage-ID: <{prefix}.{n}.ap@{e[1]}>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\n"
            f"Approved.\r\n\r\n{role}\r\n{e[0]}\r\n\r\n________________________________\r\n"
            "From: CGEN Exemptions <cgen@cdt.ca.gov>\r\nSent: Thursday, November 26, 2026 "
            f"8:01 AM\r\nTo: {addr}\r\nSubject: [CGEN-2026-{case:04d}] Approval needed\r\n\r\n"
            "Reply APPROVE to approve this request, or REJECT with a reason.\r\n").encode()


def autoreply(n, prefix, rnd):
    e, name, addr = requester(rnd.randrange(100))
    return (f"From: {name} <{addr}>\r\nTo: cgen@cdt.ca.gov\r\n"
            f"Subject: Automatic reply: [CGEN-2026-{max(1, n // 2):04d}] Request received\r\n"
            f"Date: {DATE}\r\nMessage-ID: <{prefix}.{n}.oof@{e[1]}>\r\n"
            "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\n"
            "I am out of the office until Monday with limited access to e-mail.\r\n").encode()


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    box, count, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    mix = sys.argv[4] if len(sys.argv) > 4 else "plain"
    rnd = random.Random(42)
    pdf_bytes = b"%PDF-1.4\n" + bytes(rnd.getrandbits(8) for _ in range(160 * 1024))
    requests = replies = autos = size = 0
    whos = []  # the requester of each request, by case number
    for n in range(1, count + 1):
        if mix == "plain":
            data = plain_request(n, prefix)
            requests += 1
        else:
            slot = n % 10
            if slot in (3, 7) and requests > 0:
                case = rnd.randrange(1, requests + 1)
                data = approval(n, case, prefix, rnd, whos[case - 1])
                replies += 1
            elif slot == 5 and requests > 0:
                data = autoreply(n, prefix, rnd)
                autos += 1
            else:
                requests += 1
                pdf = None
                if requests % 10 == 0:
                    cut = rnd.randrange(40, 160) * 1024
                    b = base64.b64encode(pdf_bytes[:cut]).decode()
                    pdf = "\r\n".join(b[i:i + 76] for i in range(0, len(b), 76))
                whos.append(rnd.randrange(100))
                data = realistic_request(n, requests, prefix, rnd, pdf, whos[-1])
        tmp = os.path.join(box, "tmp", f"{prefix}.{n}")
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(box, "new", f"{prefix}.{n}"))
        size += len(data)
    print(requests, replies, autos, size)


if __name__ == "__main__":
    main()
