"""Command line: thin commands over the library.

Every user error ends with one line on stderr (``facenerve: error: ...``) and exit status 2,
with no traceback. Set FACENERVE_DEBUG=1 to see tracebacks of unexpected errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from . import __version__
from ._log import native_stderr_silenced
from .errors import FacenerveError, InputError


def _settings(pairs: list[str] | None):
    from .settings import AnalysisSettings

    values: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise InputError(f"--set takes NAME=VALUE, got {pair!r}")
        k, v = pair.split("=", 1)
        values[k.strip()] = v.strip()
    return AnalysisSettings.from_dict(values)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def cmd_analyze(args: argparse.Namespace) -> int:
    from .media.outputs import OutputDir
    from .twitch.analyze import analyze_video
    from .twitch.outputs import write_into

    settings = _settings(args.set)
    out = Path(args.out)
    with OutputDir(out) as tmp:  # checked and locked before the long work
        result = analyze_video(args.video, settings, progress=not args.quiet)
        write_into(result, tmp, csv=args.csv)
    if not args.quiet:
        f = result.findings or {}
        print(
            f"{result.info.n_frames} frames, face in {100 * result.info.face_fraction:.1f}%, "
            f"{f.get('footage', {}).get('assessable_s', 0):.0f} s assessable at rest; "
            f"{f.get('finding', {}).get('reason', 'no twitch finding')} -> {out}/",
            file=sys.stderr,
        )
        if result.info.decode.get("note"):
            print(f"facenerve: note: {result.info.decode['note']}", file=sys.stderr)
    return 0


def cmd_exam(args: argparse.Namespace) -> int:
    from .exam.grading import synkinesis_word
    from .exam.outputs import write_exam_into
    from .exam.pipeline import analyze_exam
    from .media.outputs import OutputDir

    out = Path(args.out)
    if args.photos and args.video:
        raise InputError("give a video or --photos, not both")
    if not args.photos and not args.video:
        raise InputError("give the exam video, or --photos DIR (or the photo files) for an exam from photographs")
    if args.photos and (args.tasks or args.segment != "auto"):
        raise InputError("--tasks and --segment are for videos; photos are matched to tasks by name or --map")
    with OutputDir(out) as tmp:  # checked and locked before the long work
        if args.photos:
            from .exam.photos import analyze_photo_exam

            photos = args.photos[0] if len(args.photos) == 1 and Path(args.photos[0]).is_dir() else args.photos
            result = analyze_photo_exam(photos, mapping=args.map, settings=_settings(args.set))
        else:
            result = analyze_exam(args.video, tasks=args.tasks, segmentation=args.segment,
                                  settings=_settings(args.set), progress=not args.quiet)
        write_exam_into(result, tmp)
    left_out = result.analysis.info.video.get("left_out")
    if not args.quiet and left_out:
        print(f"left out (not graded by this exam): {', '.join(left_out)}", file=sys.stderr)
    if not args.quiet and result.grades["exam_status"]["status"] == "not_an_exam":
        print(f"{result.grades['exam_status']['reason']} -> {out}/", file=sys.stderr)
    elif not args.quiet:
        g = result.grades
        gr = g.get("grades", {})
        if g.get("provisional"):  # which tasks to redo: not found, or found but not gradable
            print(next(n for n in g["notes"] if n.startswith("Provisional grades")), file=sys.stderr)
        if "reason" in gr.get("house_brackmann", {}):  # House-Brackmann declined, and why
            print(f"House-Brackmann {gr['house_brackmann']['reason']}", file=sys.stderr)
        print(f"weaker side {g['weaker_side']}; House-Brackmann "
              f"{gr.get('house_brackmann', {}).get('roman', 'not graded')}, Sunnybrook "
              f"{gr.get('sunnybrook', {}).get('composite', '-')}, eFACE-like {gr.get('eface', {}).get('total', '-')}; "
              f"synkinesis {synkinesis_word(g.get('synkinesis', {}))}; "
              f"central pattern {'YES - seek urgent care' if g.get('central_pattern') else 'no'} -> {out}/",
              file=sys.stderr)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_batch_benchmark, run_benchmark, run_memory_benchmark

    if args.memory:
        _print_json(run_memory_benchmark(tuple(args.minutes), args.video))
        return 0
    if args.video is None:
        raise InputError("give a video to benchmark (or --memory)")
    if args.batch:
        _print_json(run_batch_benchmark(args.video))
        return 0

    _print_json(run_benchmark(args.video, repeat=args.repeat))
    return 0


def _read_json(path: str, what: str) -> Any:
    from .media.outputs import read_json

    return read_json(path, what)


def cmd_triage(args: argparse.Namespace) -> int:
    from .triage import triage
    from .triage.text import format_text

    if args.interactive:
        from .triage.interactive import run_questionnaire

        answers = run_questionnaire()
        if args.save_answers:
            Path(args.save_answers).write_text(json.dumps(answers, indent=2) + "\n")
    elif args.answers:
        answers = _read_json(args.answers, "answers")
    else:
        raise InputError("give an ANSWERS.json file, or --interactive to be asked the questions")
    findings = _read_json(args.findings, "findings") if args.findings else None
    result = triage(answers, findings)
    if args.fhir:
        from .triage.fhir import to_fhir

        bundle = json.dumps(to_fhir(result), indent=2)
        if args.fhir == "-":
            print(bundle)
            return 0
        Path(args.fhir).write_text(bundle + "\n")
    if args.format == "text" or (args.interactive and args.format is None):
        print(format_text(result))
    else:
        _print_json(result)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.what == "triage":
        from .evaluation.triage import PACKAGED, evaluate_triage

        _print_json(evaluate_triage(args.folder or PACKAGED))
        return 0
    if not args.folder:
        raise InputError(f"evaluate {args.what} needs a FOLDER")
    if args.what == "normals":
        from .evaluation.normals import evaluate_normal_faces

        _print_json(evaluate_normal_faces(args.folder, progress=not args.quiet))
        return 0
    if args.what == "real-exams":
        from .evaluation.realexams import build_real_exams, evaluate_real_exams

        if not args.work:
            raise InputError("evaluate real-exams needs --work DIR, where the cut and injected exams are written")
        out = Path(args.work) / ("real-exams-any-smile" if args.any_smile else "real-exams")
        build_real_exams(args.folder, out, work=args.work, settings=_settings(args.set), workers=args.workers,
                         progress=not args.quiet, posed_smile=not args.any_smile)
        report = evaluate_real_exams(out, workers=args.workers, progress=not args.quiet)
        if not args.per_clip:
            report.pop("per_exam", None)
        _print_json(report)
        return 0
    if args.what == "exams":
        from .evaluation.exams import evaluate_exams, make_exam_set

        if args.make:
            make_exam_set(args.folder, progress=not args.quiet)
        _print_json(evaluate_exams(args.folder, segmentation=args.segment, progress=not args.quiet))
        return 0
    if args.fps or args.crf is not None or args.far:
        if args.what not in ("natural", "injected", "blinks"):
            raise InputError("--fps, --crf and --far are for evaluate natural, injected and blinks")
        if not args.work:
            raise InputError("--fps, --crf and --far need --work DIR, where the re-encoded clips are written")
        from .evaluation.recode import DEFAULT_CRF, recode_folder, recoded_name

        crf = DEFAULT_CRF if args.crf is None else args.crf
        args.work = Path(args.work) / recoded_name(args.fps, crf, args.far)  # its measures and copies apart
        args.folder = recode_folder(args.folder, args.work / Path(args.folder).resolve().name, args.fps, crf,
                                    args.far, progress=not args.quiet)
    if args.what in ("natural", "injected"):
        from .evaluation.realfaces import evaluate_injected, evaluate_natural

        if args.what == "natural":
            report = evaluate_natural(args.folder, args.work, _settings(args.set), progress=not args.quiet,
                                      workers=args.workers)
        else:
            if not args.work:
                raise InputError("evaluate injected needs --work DIR, where the injected videos are written")
            seeds = range(args.seeds) if args.seeds else (0 if args.seed is None else args.seed,)
            report = evaluate_injected(args.folder, args.work, seeds=seeds, settings=_settings(args.set),
                                       workers=args.workers, strength=args.strength, style=args.style,
                                       progress=not args.quiet)
        if not args.per_clip:
            report.pop("per_clip", None)
        _print_json(report)
        return 0
    if args.what == "blinks":
        from .evaluation.blinks import evaluate_blinks

        report = evaluate_blinks(args.folder, _settings(args.set), progress=not args.quiet, work=args.work)
        if not args.per_clip:
            report.pop("per_clip", None)
    else:
        from .evaluation.twitches import evaluate_twitches, make_twitch_set

        if args.make:
            make_twitch_set(args.folder, n_videos=args.make, twitch_free=args.free,
                            first_seed=100 if args.seed is None else args.seed,
                            progress=not args.quiet)
        report = evaluate_twitches(args.folder, _settings(args.set), progress=not args.quiet)
    _print_json(report)
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from .cohort.batch import run_batch

    settings = _settings(args.set).to_dict() if args.set else None
    report = run_batch(args.input, args.out, scheduler=args.scheduler, workers=args.workers,
                       memory_per_worker=args.memory_per_worker, settings=settings, force=args.force,
                       csv=args.csv, progress=not args.quiet)
    if not args.quiet:
        print(f"{report['ok']} of {report['videos']} videos analysed ({report['failed']} failed, "
              f"{report['skipped_as_finished']} already done) -> {args.out}/", file=sys.stderr)
    _print_json(report)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from .simulate.render import render_exam_video, render_twitch_video

    if not Path(args.out).absolute().parent.is_dir():
        raise InputError(f"the folder of {args.out} does not exist; create it or choose another --out")

    if args.exam:
        if not 0 <= args.factor <= 1 or not 0 <= args.synkinesis <= 1:
            raise InputError("--factor and --synkinesis take a number from 0 to 1")
        side = "left" if args.side == "none" else args.side
        truth = render_exam_video(args.out, factor=args.factor, side=side, central=args.central,
                                  synkinesis=args.synkinesis, random_state=args.seed)
        print(f"wrote {args.out}, {truth} and the task times beside it", file=sys.stderr)
        return 0
    truth = render_twitch_video(
        args.out, duration_s=args.duration, twitch_side=args.side, random_state=args.seed,
        twitch_rate_per_min=args.twitch_rate, blink_rate_per_min=args.blink_rate,
        regions=tuple(args.regions.split(",")) if args.regions else ("eye", "cheek", "mouth"),
    )
    print(f"wrote {args.out} and {truth} ", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .simulate.render import example_video

    video = example_video()
    print(f"example video: {video}", file=sys.stderr)
    ns = argparse.Namespace(video=str(video), out=args.out, csv=False, quiet=args.quiet, set=None)
    return cmd_analyze(ns)


def _web_config(args: argparse.Namespace):
    from .web.config import WebConfig

    names = ("data_dir", "database_url", "workers", "max_upload_mb", "session_hours", "idle_minutes",
             "allowed_hosts")
    return WebConfig(**{k: getattr(args, k) for k in names if getattr(args, k, None) is not None})


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .web.app import create_app

    config = _web_config(args)
    config.secure_cookies = args.secure_cookies
    if args.host not in ("0.0.0.0", "::") and args.host not in config.allowed_hosts:
        config.allowed_hosts = [*config.allowed_hosts, args.host]
    app = create_app(config)
    print(f"facenerve: serving on http://{args.host}:{args.port}/ (data in {config.data_dir}; "
          f"database {config.database_url.split('://')[0]})", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from .web.jobs import run_forever

    run_forever(_web_config(args), args.workers or 1)
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    """Create an account, or change its role, from the command line (e.g. the first admin)."""
    from sqlalchemy import select

    from .web.db import make_engine, migrate, session_factory
    from .web.models import User
    from .web.security import hash_password, password_problem

    config = _web_config(args)
    config.prepare()
    engine = make_engine(config.database_url)
    migrate(engine)
    with session_factory(engine)() as db:
        user = db.scalar(select(User).where(User.email == args.email.lower()))
        if user is None:
            password = os.environ.get("FACENERVE_PASSWORD") or (
                __import__("getpass").getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().strip())
            problem = password_problem(password, args.email)
            if problem:
                raise InputError(problem)
            user = User(email=args.email.lower(), name=args.name or args.email.split("@")[0],
                        password_hash=hash_password(password), role=args.role or "patient")
            db.add(user)
            what = "created"
        elif args.role is None:  # nothing asked: an existing account keeps its role
            what = "unchanged"
        else:
            user.role = args.role
            what = "updated"
        db.commit()
        print(f"{what} {user.email} ({user.role})", file=sys.stderr)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line error contract: ``facenerve: error: ...``, exit 2."""

    def error(self, message: str):  # type: ignore[override]
        raise InputError(f"{message}; see '{self.prog} --help'")


def _number(kind: type, lo: float, hi: float):
    """An argparse type: a finite number of ``kind`` within [lo, hi]."""
    def parse(text: str):
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"{_cut(text, 30)!r} is not a {kind.__name__}") from None
        if not (value == value and lo <= value <= hi):  # NaN fails the first test
            raise argparse.ArgumentTypeError(f"must be from {lo:g} to {hi:g}, got {_cut(text, 30)}")
        return value
    return parse


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_line(text: str, limit: int = 400) -> str:
    """A message as one safe terminal line: control characters escaped, long text cut."""
    import unicodedata

    out = "".join(
        ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode("ascii")
        for ch in str(text))
    return _cut(out, limit)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="facenerve", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"facenerve {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    a = sub.add_parser("analyze", help="measure each side of the face in a video, find blinks and twitches")
    a.add_argument("video")
    a.add_argument("--out", required=True, help="output folder (created; our files in it are replaced)")
    a.add_argument("--csv", action="store_true", help="also write signals.csv")
    a.add_argument("--quiet", action="store_true", help="no progress bar or summary line")
    a.add_argument("--set", action="append", metavar="NAME=VALUE", help="change a setting (repeatable)")
    a.set_defaults(func=cmd_analyze)

    x = sub.add_parser("exam", help="grade a guided facial exam: House-Brackmann, Sunnybrook, eFACE-like, synkinesis")
    x.add_argument("video", nargs="?", help="the exam video (or give --photos)")
    x.add_argument("--photos", nargs="+", metavar="PHOTO",
                   help="an exam from photographs: a folder of them, or the files; one photo per task, "
                        "matched by file name (rest.jpg, brow_raise.jpg, ...), by --map, or in protocol order")
    x.add_argument("--map", metavar="TASKS.yaml", help="photos: task -> file name (e.g. smile: IMG_0412.jpg)")
    x.add_argument("--out", required=True, help="output folder (created; our files in it are replaced)")
    x.add_argument("--tasks", metavar="TASKS.json", help="task start/end times (else found from the video)")
    x.add_argument("--segment", choices=["auto", "protocol"], default="auto",
                   help="without --tasks: find tasks from the movements (auto) or by the protocol's timing")
    x.add_argument("--quiet", action="store_true")
    x.add_argument("--set", action="append", metavar="NAME=VALUE")
    x.set_defaults(func=cmd_exam)

    b = sub.add_parser("bench", help="throughput and memory: decode, landmarks, end to end")
    b.add_argument("video", nargs="?", help="a video, or with --batch a folder of videos, or with --memory a "
                   "folder to keep the generated videos in")
    b.add_argument("--memory", action="store_true",
                   help="peak memory of analyze on generated 640x360 videos of --minutes each")
    b.add_argument("--minutes", type=_number(float, 0.1, 600), nargs="+", default=[10.0, 60.0],
                   help="lengths of the generated videos for --memory (default: 10 60)")
    b.add_argument("--batch", action="store_true",
                   help="videos per minute of facenerve batch against analyze one after another, and worker scaling")
    b.add_argument("--repeat", type=_number(int, 1, 100), default=1, help="times the video is played through")
    b.set_defaults(func=cmd_bench)

    e = sub.add_parser("evaluate", help="accuracy against annotated or simulated data")
    e.add_argument("what", choices=["natural", "injected", "blinks", "twitches", "exams", "real-exams", "normals",
                                       "triage"],
                   help="natural: false twitches on healthy real faces; injected: twitches injected into "
                        "real faces; twitches: rendered videos; real-exams: palsy grading on exams cut from "
                        "real faces (FOLDER: videos of healthy people), healthy (photos as cut and retaken, video) "
                        "and with weakness injected")
    e.add_argument("folder", nargs="?", help="data folder (triage: vignettes; default the bundled set)")
    e.add_argument("--per-clip", action="store_true", help="include each clip's scores")
    e.add_argument("--make", type=_number(int, 1, 1000), metavar="N",
                   help="twitches: first render N videos with twitches (and 2 without) into FOLDER; "
                        "exams: any N renders the standard exam set")
    e.add_argument("--free", type=_number(int, 0, 1000), default=2, metavar="K",
                   help="twitches, with --make: also render K twitch-free videos (30 s each)")
    e.add_argument("--seed", type=_number(int, 0, 2**32 - 1),
                   help="twitches, with --make: random state of the first video (default 100, then +1 each); "
                        "injected: the injection's random state (default 0)")
    e.add_argument("--seeds", type=_number(int, 1, 1000), metavar="N",
                   help="injected: inject with seeds 0 to N-1, each into its own copies, and score them as a whole")
    e.add_argument("--strength", type=_number(float, 0.05, 2.0), default=1.0, metavar="X",
                   help="injected: scale every twitch's amplitude by X (0.5: half as large; its own copies): "
                        "how small a twitch is still found")
    e.add_argument("--style", choices=["lid", "contraction"], default="lid",
                   help="injected: how twitches are drawn: lid (one region at a time, the upper lid drawn "
                        "down; what facenerve was tuned on) or contraction (written apart: both lids drawn "
                        "together, cheek and mouth with the eye, bursts; its own copies)")
    e.add_argument("--segment", choices=["auto", "protocol", "sidecar"], default="auto",
                   help="exams: how tasks are found (sidecar = the rendered .tasks.json)")
    e.add_argument("--work", metavar="DIR",
                   help="natural, injected, blinks, real-exams: keep measures (and injected videos or photos) here; "
                        "reruns reuse them")
    e.add_argument("--workers", type=_number(int, 1, 1024),
                   help="natural, injected, real-exams: measure on this many Dask workers (default: one per core)")
    e.add_argument("--any-smile", action="store_true",
                   help="real-exams: cut any smile, also one caught mid-word (a check of the grades' safety on "
                        "sloppier exams), not only posed smiles")
    e.add_argument("--fps", type=_number(float, 1, 240), metavar="N",
                   help="natural, injected, blinks: first re-encode the clips (and their .tag) at N frames per "
                        "second, the source frame nearest in time for each (into --work, kept): do the figures "
                        "hold for other cameras?")
    e.add_argument("--crf", type=_number(int, 0, 51), metavar="Q",
                   help="natural, injected, blinks: first re-encode the clips as H.264 of quality Q (0 lossless, "
                        "18 the default, 28 and up visibly compressed; into --work, kept)")
    e.add_argument("--far", type=_number(int, 2, 16), metavar="K",
                   help="natural, injected, blinks: first re-encode the clips each in a picture K times as wide "
                        "and high, its edges continued (into --work, kept): a face filmed from across a room")
    e.add_argument("--quiet", action="store_true")
    e.add_argument("--set", action="append", metavar="NAME=VALUE")
    e.set_defaults(func=cmd_evaluate)

    bt = sub.add_parser("batch", help="a cohort of videos on Dask: every video's outputs, cohort tables, report")
    bt.add_argument("input", help="a folder (searched recursively) or a manifest (.csv/.parquet with a 'video' column)")
    bt.add_argument("--out", required=True, help="output folder: videos/<id>/, cohort_summary.parquet, ...")
    bt.add_argument("--scheduler", metavar="ADDRESS",
                    help="an existing Dask scheduler, e.g. tcp://host:8786 (default: DASK_SCHEDULER_ADDRESS, "
                         "else a local cluster)")
    bt.add_argument("--workers", type=_number(int, 1, 1024), help="local workers (default: one per core)")
    bt.add_argument("--memory-per-worker", metavar="SIZE", help="local workers' memory limit, e.g. 2GB "
                    "(default: 80%% of the memory shared out)")
    bt.add_argument("--force", action="store_true", help="redo videos already finished")
    bt.add_argument("--csv", action="store_true", help="also write the tables as CSV")
    bt.add_argument("--quiet", action="store_true")
    bt.add_argument("--set", action="append", metavar="NAME=VALUE")
    bt.set_defaults(func=cmd_batch)

    t = sub.add_parser("triage", help="urgency and ranked differential from symptom answers (+ video findings)")
    t.add_argument("answers", nargs="?", help="ANSWERS.json (vocabulary: facenerve/knowledge/questions.yaml)")
    t.add_argument("--findings", metavar="SUMMARY.json", help="summary.json of facenerve analyze or exam")
    t.add_argument("--format", choices=["json", "text"], default=None, help="json (default) or text for people")
    t.add_argument("--interactive", action="store_true", help="ask the questions in the terminal")
    t.add_argument("--save-answers", metavar="FILE", help="with --interactive: save the answers as JSON")
    t.add_argument("--fhir", nargs="?", const="-", metavar="FILE",
                   help="export a FHIR QuestionnaireResponse and RiskAssessment bundle (to FILE, or stdout)")
    t.set_defaults(func=cmd_triage)

    s = sub.add_parser("simulate", help="render a face video with known twitches and blinks, or an exam")
    s.add_argument("--out", required=True, help="video file to write (.mp4)")
    s.add_argument("--duration", type=_number(float, 1.0, 3600.0), default=20.0, help="seconds (1 to 3600)")
    s.add_argument("--side", choices=["left", "right", "none"], default="left")
    s.add_argument("--regions", default="eye,cheek,mouth")
    s.add_argument("--twitch-rate", type=_number(float, 0.0, 120.0), default=12.0, help="twitches per minute")
    s.add_argument("--blink-rate", type=_number(float, 0.0, 120.0), default=15.0, help="blinks per minute")
    s.add_argument("--seed", type=_number(int, 0, 2**32 - 1), default=0)
    s.add_argument("--exam", action="store_true", help="render a guided exam instead (--side is the weak side)")
    s.add_argument("--factor", type=_number(float, 0.0, 1.0), default=1.0,
                   help="exam: weak side's movement, 0 (none) to 1 (normal)")
    s.add_argument("--central", action="store_true", help="exam: spare the forehead (central palsy)")
    s.add_argument("--synkinesis", type=_number(float, 0.0, 1.0), default=0.0, help="exam: co-movement strength, 0 to 1")
    s.set_defaults(func=cmd_simulate)

    def web_options(q: argparse.ArgumentParser) -> None:
        q.add_argument("--data-dir", help="videos, results and the SQLite database (default: the user data folder)")
        q.add_argument("--database-url", help="e.g. postgresql+psycopg://user:pass@localhost/facenerve "
                                              "(default: SQLite in the data folder)")

    w = sub.add_parser("serve", help="start the web app on this machine")
    web_options(w)
    w.add_argument("--host", default="127.0.0.1")
    w.add_argument("--port", type=_number(int, 1, 65535), default=8000)
    w.add_argument("--workers", type=_number(int, 0, 64),
                   help="analysis workers in the app (default 1; 0 = use 'facenerve worker')")
    w.add_argument("--max-upload-mb", type=_number(int, 1, 100_000), help="largest video accepted (default 500)")
    w.add_argument("--secure-cookies", action="store_true", help="mark cookies Secure (when served over HTTPS)")
    w.add_argument("--allowed-host", dest="allowed_hosts", action="append", metavar="NAME",
                   help="a host name the app answers to (repeat; default: localhost, 127.0.0.1, ::1 and --host); "
                        "requests naming another host get 400")
    w.add_argument("--session-hours", type=_number(float, 0.1, 720), help="longest login (default 12)")
    w.add_argument("--idle-minutes", type=_number(float, 1, 1440),
                   help="a login ends after this long without a request (default 30)")
    w.set_defaults(func=cmd_serve)

    k = sub.add_parser("worker", help="run analysis workers for the web app, without the web server")
    web_options(k)
    k.add_argument("--workers", type=_number(int, 1, 64), default=1)
    k.set_defaults(func=cmd_worker)

    u = sub.add_parser("user", help="create a web account or change its role (password from "
                                    "FACENERVE_PASSWORD, the terminal or stdin)")
    web_options(u)
    u.add_argument("email")
    u.add_argument("--role", choices=["patient", "clinician", "admin"],
                   help="the account's role (a new account: patient unless given; an existing one keeps its role)")
    u.add_argument("--name")
    u.set_defaults(func=cmd_user)

    d = sub.add_parser("demo", help="analyse the bundled example video")
    d.add_argument("--out", default="demo-out")
    d.add_argument("--quiet", action="store_true")
    d.set_defaults(func=cmd_demo)

    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        with native_stderr_silenced():
            return int(args.func(args) or 0)
    except FacenerveError as err:
        print(f"facenerve: error: {one_line(err)}", file=sys.stderr)
        return err.exit_code
    except OSError as err:  # the file system said no: a missing folder, a file in the way
        where = f"{err.filename}: " if err.filename else ""
        print(f"facenerve: error: {one_line(where + (err.strerror or str(err)))}; check the path and "
              "its permissions", file=sys.stderr)
        return 2
    except RecursionError:
        print("facenerve: error: the input is nested too deeply to read", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("facenerve: interrupted; nothing was written", file=sys.stderr)
        return 130
    except MemoryError:
        print("facenerve: error: out of memory; try a shorter or smaller video", file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 - one line, never a traceback, unless asked
        if os.environ.get("FACENERVE_DEBUG"):
            raise
        print(f"facenerve: internal error: {type(err).__name__}: {one_line(err)} "
              "(run with FACENERVE_DEBUG=1 for details and report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
