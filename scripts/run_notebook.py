#!/usr/bin/python3
"""Execute one notebook on a Jupyter kernel, cell by cell, and judge every cell.

Called by scripts/notebooks.ts (used by `npm start` and by test/notebooks.test.ts); run it with
Debian's /usr/bin/python3, which has jupyter_client, nbformat and nbconvert.

Why not `jupyter nbconvert --execute` or plain nbclient:
- tslab reports a failing cell only by status "error" in the execute reply and writes the error
  text to the cell's *stderr stream* (no `error` message), so nbconvert prints just "<Error>:".
- An exception thrown later from a timer, or a promise nobody awaited that rejects, does not fail
  any cell: tslab's process handlers print "UncaughtException: ..." / "UnhandledPromiseRejection:
  ..." to stderr, and tslab routes stderr to the *last executed* cell even after it finished.
  nbclient stops listening to a cell once it is idle, so such output is lost. Here every iopub
  message is routed by its parent id to its cell at any time, each cell gets a short grace period,
  and the notebook a longer one at the end; stderr is then scanned for those two prefixes.
So a cell fails when: its reply is not "ok", it has an `error` output, or its stderr contains an
uncaught exception or unhandled rejection. The first failure stops the notebook (later cells
usually depend on it), and the executed notebook is still written, error included.

The result is one JSON file (see `result` below); progress goes to stderr.
"""
import argparse
import json
import os
import queue
import re
import sys
import tempfile
import time

import nbformat
from jupyter_client.manager import KernelManager
from nbformat.v4 import output_from_msg

UNCAUGHT = re.compile(r"^(UncaughtException|UnhandledPromiseRejection):", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def log(msg):
    print(f"[notebook] {msg}", file=sys.stderr, flush=True)


class CellRun:
    """One executed code cell: its outputs as they arrive, and its reply."""

    def __init__(self, index, cell):
        self.index = index
        self.cell = cell
        self.outputs = []
        self.display_slots = {}  # display_id -> indices in outputs (update_display_data)
        self.clear_pending = False
        self.reply = None
        self.idle = False
        self.started = time.monotonic()
        self.seconds = None

    def add(self, msg):
        kind = msg["msg_type"]
        content = msg["content"]
        if kind == "status":
            self.idle = content["execution_state"] == "idle"
            return
        if kind == "clear_output":
            if content.get("wait"):
                self.clear_pending = True
            else:
                self.outputs.clear()
                self.display_slots.clear()
            return
        if kind == "update_display_data":
            display_id = content.get("transient", {}).get("display_id")
            for i in self.display_slots.get(display_id, []):
                self.outputs[i]["data"] = content["data"]
                self.outputs[i]["metadata"] = content.get("metadata", {})
            return
        if kind not in ("stream", "display_data", "execute_result", "error"):
            return  # execute_input, comm messages, ...
        if self.clear_pending:
            self.outputs.clear()
            self.display_slots.clear()
            self.clear_pending = False
        last = self.outputs[-1] if self.outputs else None
        if kind == "stream" and last and last.output_type == "stream" and last.name == content["name"]:
            last.text += content["text"]
            return
        out = output_from_msg(msg)
        display_id = content.get("transient", {}).get("display_id")
        if display_id:
            self.display_slots.setdefault(display_id, []).append(len(self.outputs))
        self.outputs.append(out)

    def stderr(self):
        return "".join(o.text for o in self.outputs if o.output_type == "stream" and o.name == "stderr")

    def failure(self):
        """(kind, text) when this cell failed, else None."""
        errors = [
            f"{o.ename}: {o.evalue}\n" + "\n".join(o.get("traceback", []))
            for o in self.outputs
            if o.output_type == "error"
        ]
        text = ANSI.sub("", "\n".join([self.stderr().rstrip(), *errors]).strip())
        status = self.reply["content"]["status"] if self.reply else None
        if status is not None and status != "ok":
            return ("error", text or f"the kernel answered status '{status}' without an error message")
        if errors:
            return ("error", text)
        if UNCAUGHT.search(self.stderr()):
            return ("uncaught", text)
        return None


def drain(kc, runs, seconds):
    """Route iopub messages to their cells for `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            msg = kc.get_iopub_msg(timeout=left)
        except queue.Empty:
            return
        run = runs.get(msg["parent_header"].get("msg_id"))
        if run:
            run.add(msg)


def execute(km, kc, runs, index, cell, timeout):
    """Run one cell to its reply and idle status. Returns (run, problem) with problem for a
    timeout or a dead kernel, else None."""
    msg_id = kc.execute(cell.source, store_history=True, allow_stdin=False, stop_on_error=False)
    run = runs[msg_id] = CellRun(index, cell)
    deadline = run.started + timeout
    while not (run.reply and run.idle):
        if time.monotonic() > deadline:
            km.interrupt_kernel()
            drain(kc, runs, 2.0)
            return run, ("timeout", f"the cell did not finish within {timeout:g} s (interrupted)")
        if not km.is_alive():
            return run, ("kernel-died", "the kernel process died while running this cell")
        try:
            msg = kc.get_iopub_msg(timeout=0.05)
            target = runs.get(msg["parent_header"].get("msg_id"))
            if target:
                target.add(msg)
        except queue.Empty:
            pass
        if run.reply is None:
            try:
                reply = kc.get_shell_msg(timeout=0)
                if reply["parent_header"].get("msg_id") == msg_id:
                    run.reply = reply
            except queue.Empty:
                pass
    run.seconds = time.monotonic() - run.started
    return run, None


def export_html(nb, path, title):
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    with open(path, "w", encoding="utf-8") as f:
        f.write(body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebook")
    ap.add_argument("--kernel", required=True, help="kernelspec name (JUPYTER_PATH must find it)")
    ap.add_argument("--result", required=True, help="where to write the JSON result")
    ap.add_argument("--executed", help="write the executed notebook here")
    ap.add_argument("--html", help="export the executed notebook as HTML here")
    ap.add_argument("--cell-timeout", type=float, default=900.0)
    ap.add_argument("--startup-timeout", type=float, default=60.0)
    ap.add_argument("--grace", type=float, default=0.1, help="seconds to wait for late output after each cell")
    ap.add_argument("--final-grace", type=float, default=1.0, help="seconds to wait for late output at the end")
    args = ap.parse_args()

    path = os.path.abspath(args.notebook)
    name = os.path.basename(path)
    nb = nbformat.read(path, as_version=4)
    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    t0 = time.monotonic()
    result = {"notebook": args.notebook, "ok": False, "cells": len(code_cells), "executed": 0,
              "seconds": 0.0, "cellSeconds": [], "failure": None}

    def fail(kind, text, run=None):
        result["failure"] = {
            "kind": kind,
            "text": text,
            "cell": run.index if run else None,
            "codeCell": (result["executed"]) if run else None,
            "source": run.cell.source if run else None,
        }

    # The kernel's own stderr (before tslab takes stderr over, e.g. a launcher error) goes to a
    # file, so that a kernel that dies or never starts can say why.
    kernel_log = tempfile.NamedTemporaryFile("w+", prefix="spurious-kernel-", suffix=".log", delete=False)
    km = KernelManager(kernel_name=args.kernel)
    kc = None
    runs = {}
    try:
        km.start_kernel(cwd=os.path.dirname(path), stderr=kernel_log, stdout=kernel_log)
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=args.startup_timeout)
        except RuntimeError as e:
            fail("kernel-start", f"kernel '{args.kernel}' did not start: {e}\n{read_log(kernel_log)}")
        if not result["failure"]:
            log(f"{name}: kernel ready in {time.monotonic() - t0:.1f} s")

        for n, (index, cell) in enumerate(code_cells if not result["failure"] else [], start=1):
            run, problem = execute(km, kc, runs, index, cell, args.cell_timeout)
            cell.outputs = run.outputs
            result["executed"] = n
            drain(kc, runs, args.grace)
            if problem:
                kind, text = problem
                if kind == "kernel-died":
                    text += "\n" + read_log(kernel_log)
                fail(kind, (run.stderr() + "\n" + text).strip(), run)
                break
            cell.execution_count = run.reply["content"].get("execution_count")
            result["cellSeconds"].append(round(run.seconds, 3))
            failed = run.failure()
            log(f"{name}: cell {n}/{len(code_cells)} {'FAILED' if failed else 'ok'} ({run.seconds:.1f} s)")
            if failed:
                fail(*failed, run)
                break

        if not result["failure"] and runs:
            # Timers and promises still running after the last cell.
            drain(kc, runs, args.final_grace)
            for run in runs.values():
                failed = run.failure()
                if failed:
                    kind, text = failed
                    fail("uncaught", text + "\n(printed after the cell had finished: a timer or an "
                         "unawaited promise started by this or an earlier cell)", run)
                    result["executed"] = sorted(runs.values(), key=lambda r: r.index).index(run) + 1
                    log(f"{name}: code cell {result['executed']} FAILED after it had finished")
                    break
    finally:
        if kc:
            kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)
        kernel_log.close()
        os.unlink(kernel_log.name)

    result["ok"] = result["failure"] is None
    result["seconds"] = round(time.monotonic() - t0, 3)
    if args.executed:
        nbformat.write(nb, args.executed)
    if args.html:
        export_html(nb, args.html, os.path.splitext(name)[0])
    with open(args.result, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)


def read_log(f):
    f.flush()
    with open(f.name, encoding="utf-8", errors="replace") as r:
        text = r.read().strip()
    return f"kernel output:\n{text}" if text else "(the kernel printed nothing)"


if __name__ == "__main__":
    main()
