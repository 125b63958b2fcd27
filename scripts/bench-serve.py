#!/usr/bin/env python3
"""dfab serve's bench client: the environments page's render time (median of N requests, the
project cached), and how long a step line takes from the job's terminal line to an event-stream
client (the timestamp the line carries, against its arrival). Only loopback; bounded in count."""
import http.client
import re
import statistics
import sys
import time

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def conn():
    return http.client.HTTPConnection(host, port, timeout=30)


c = conn()
c.request("GET", "/envs")
r = c.getresponse()
r.read()
cookie = r.getheader("Set-Cookie").split(";")[0]
hdr = {"Cookie": cookie}

times = []
for _ in range(n):
    t = time.perf_counter()
    c.request("GET", "/envs", headers=hdr)
    body = c.getresponse().read()
    times.append((time.perf_counter() - t) * 1000)
rows = body.count(b"<tr>") - 1
print(f"envs page ({rows} envs): median {statistics.median(times):.1f} ms, "
      f"p90 {sorted(times)[int(n * 0.9)]:.1f} ms over {n} requests ({len(body) // 1024} KiB)")

# A job whose task prints a timestamped line every 100 ms (the project's `releases` task).
c.request("GET", "/envs/bench/run?action=releases", headers=hdr)
page = c.getresponse().read().decode()
csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
c.request("POST", "/envs/bench/jobs", body=f"csrf={csrf}&action=releases&confirm=yes",
          headers={**hdr, "Content-Type": "application/x-www-form-urlencoded"})
r = c.getresponse()
r.read()
job = r.getheader("Location").rsplit("/", 1)[1]
s = conn()
s.request("GET", f"/jobs/{job}/events?after=0", headers=hdr)
r = s.getresponse()
lat = []
deadline = time.time() + 60
while time.time() < deadline:
    line = r.fp.readline().decode()
    if not line or line.startswith("event: end"):
        break
    m = re.match(r"data: .*tick ([0-9.]+)", line)
    if m:
        lat.append((time.time() - float(m.group(1))) * 1000)
# The first lines may predate the stream's opening: judge the ones that came live.
live = lat[3:]
print(f"step line -> event-stream client: median {statistics.median(live):.1f} ms, "
      f"max {max(live):.1f} ms over {len(live)} lines")
