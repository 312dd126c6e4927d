"""The ugk command line: exit codes, one-line errors, JSON output."""

import json
import shutil
import subprocess
import sys

import pytest

from uncertainty_gk import synthetic
from uncertainty_gk.archive import write_archive
from uncertainty_gk.cli import main

from conftest import EXAMPLES


def run_cli(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def tiny(tmp_path):
    dst = tmp_path / "tiny"
    shutil.copytree(EXAMPLES / "tiny", dst)
    return dst


def test_ingest_and_info(tiny, tmp_path, capsys):
    out = tmp_path / "t.nc"
    code, stdout, _ = run_cli(["ingest", str(tiny / "campaign.toml"), "-o", str(out), "-q"], capsys)
    assert code == 0 and "1 runs, 101 frames" in stdout
    code, stdout, _ = run_cli(["info", str(out), "--json", str(tmp_path / "info.json")], capsys)
    assert code == 0
    assert "lpso_pedone_seed1_T1000" in stdout and "297" in stdout and "Li117 O144 P27 Si9" in stdout
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["runs"][0]["n_frames"] == 101


def test_info_on_single_dump_with_types(tiny, capsys):
    dump = next(tiny.rglob("dump*"))
    code, stdout, _ = run_cli(["info", str(dump), "--types", "1=Li,2=P,3=O,4=Si", "--timestep-ps", "0.001"], capsys)
    assert code == 0 and "101" in stdout


@pytest.mark.parametrize("args, message", [
    (["info", "nope.nc"], "nope.nc: no such file"),
    (["ingest", "missing.toml", "-o", "x.nc"], "missing.toml: manifest not found"),
    (["info", "{dump}"], "atom type(s) [1, 2, 3, 4] have no element"),
    (["info", "{dump}", "--types", "1=Li,2"], "--types: expected TYPE=ELEMENT pairs"),
])
def test_bad_input_gives_one_error_line(args, message, tiny, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    dump = str(next(tiny.rglob("dump*")))
    args = [a.replace("{dump}", dump) for a in args]
    code, _, err = run_cli(args, capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in err


def test_debug_shows_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "uncertainty_gk.cli", "info", str(tmp_path / "nope.nc"), "--debug"],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_truncated_dump_error_names_frame(tiny, tmp_path, capsys):
    import gzip

    dump = next(tiny.rglob("dump*"))
    text = gzip.open(dump, "rt").read().splitlines()
    bad = tmp_path / "bad.lammpstrj"
    # frame 1 loses two atoms (count stays 297): the atom count no longer matches
    lines = text[:306 + 9 + 295] + text[306 + 9 + 297:]
    bad.write_text("\n".join(lines) + "\n")
    code, out, err = run_cli(["info", str(bad), "--types", "1=Li,2=P,3=O,4=Si", "--timestep-ps", "0.001"], capsys)
    # issue 14: the damaged frame is skipped (with a warning naming it), every other frame is kept
    assert code == 0
    assert "warning:" in err and "bad.lammpstrj" in err and "skipped 1 corrupted frame(s)" in err
    assert "frame 1 (line" in err and "Traceback" not in err
    n_frames = sum(1 for ln in text if ln == "ITEM: TIMESTEP")
    assert f" {n_frames - 1} " in out


def test_analyze_json_shape(tmp_path, capsys):
    system = synthetic.generate(n_mobile=24, n_frames=1500, n_seeds=3, rng=3)
    arch = tmp_path / "syn.nc"
    write_archive(system.runs, arch)
    out = tmp_path / "res.json"
    code, stdout, _ = run_cli(["analyze", str(arch), "--json", str(out), "--n-steps", "600", "--per-seed-steps", "150", "-q"], capsys)
    assert code == 0
    assert "σ_tr" in stdout and "H_R" in stdout and "seeds: 3" in stdout
    doc = json.loads(out.read_text())
    (g,) = doc["groups"]
    assert g["n_seeds"] == 3 and len(g["window_ps"]) == 2 and g["window_ps"][0] < g["window_ps"][1]
    assert set(g["quantities"]) == {"sigma", "sigma_tr", "haven_ratio", "D_tr"}
    for q in g["quantities"].values():
        assert {"median", "lower", "upper", "ci_prob", "units", "method"} <= set(q)
        assert q["lower"] <= q["median"] <= q["upper"] and q["ci_prob"] == 0.95
    assert g["quantities"]["sigma"]["units"] == "S/cm" and g["quantities"]["D_tr"]["units"] == "cm^2/s"
    assert len(g["seeds"]) == 3 and "quantities" in g["seeds"][0]
    assert g["labels"]["temperature_K"] == 800
    assert doc["provenance"]["uncertainty_gk_version"]


def test_analyze_too_short_gives_remedy(tmp_path, capsys):
    system = synthetic.generate(n_mobile=24, n_frames=30, n_seeds=2, rng=3, rattle_amplitude=0.5,
                                rattle_time_ps=2.0)
    arch = tmp_path / "short.nc"
    write_archive(system.runs, arch)
    code, _, err = run_cli(["analyze", str(arch), "-q", "--include-flagged"], capsys)
    assert code == 2
    assert "no diffusive window" in err and "Run longer" in err and "ps" in err


def _collapsed_dump(tiny, tmp_path):
    """The tiny example with atom 2 (Li) moved onto atom 1 from frame 50 (t = 1 ps) on."""
    import gzip

    src = next(tiny.rglob("dump*"))
    text = gzip.open(src, "rt").read().splitlines()
    per = 9 + 297
    for f in range(50, 101):
        base = f * per + 9
        x1 = text[base].split()
        fields = text[base + 1].split()
        fields[2:5] = [f"{float(x1[2]) + 0.3:.4f}", x1[3], x1[4]]
        text[base + 1] = " ".join(fields)
    bad = tmp_path / "collapse.lammpstrj"
    bad.write_text("\n".join(text) + "\n")
    return bad


def test_analyze_uses_trusted_segments_by_default(tiny, tmp_path, capsys):
    bad = _collapsed_dump(tiny, tmp_path)
    opts = ["--types", "1=Li,2=P,3=O,4=Si", "--timestep-ps", "0.001", "--temperature-K", "1000", "-q"]
    code, _, err = run_cli(["analyze", str(bad), *opts], capsys)
    # the collapse at 1 ps leaves no trusted segment (1 ps margin): the run is dropped
    assert code == 2 and "every run failed its diagnostics" in err
    code, _, err = run_cli(["analyze", str(bad), *opts, "--margin-ps", "0.1", "--threshold", "skip=rdf_drift"],
                           capsys)
    assert "every run failed" not in err


def test_synthetic_runs_are_not_diagnosed(tmp_path, capsys):
    system = synthetic.generate(n_mobile=24, n_frames=1500, n_seeds=2, rng=3)
    arch = tmp_path / "syn.nc"
    write_archive(system.runs, arch)
    out = tmp_path / "r.json"
    code, _, _ = run_cli(["analyze", str(arch), "-q", "--n-steps", "400", "--per-seed-steps", "150", "--json", str(out)], capsys)
    assert code == 0
    runs = json.loads(out.read_text())["groups"][0]["runs"]
    assert {r["status"] for r in runs} == {"not diagnosed (synthetic)"}


def test_threshold_option_errors(tiny, capsys):
    dump = str(next(tiny.rglob("dump*")))
    code, _, err = run_cli(["diagnose", dump, "--types", "1=Li,2=P,3=O,4=Si", "--threshold", "nonsense=3"], capsys)
    assert code == 2 and "unknown name 'nonsense'" in err
    code, _, err = run_cli(["diagnose", dump, "--types", "1=Li,2=P,3=O,4=Si", "--threshold", "temperature_sigma=x"],
                           capsys)
    assert code == 2 and "temperature_sigma needs a number" in err


def test_spectral_option_reaches_the_results_and_bad_ones_stop_early(tmp_path, capsys):
    system = synthetic.generate(n_mobile=24, n_frames=1200, n_seeds=2, rng=3)
    arch = tmp_path / "syn.nc"
    write_archive(system.runs, arch)
    out = tmp_path / "res.json"
    code, stdout, _ = run_cli(["analyze", str(arch), "--json", str(out), "-q", "--spectral-option", "first_step=True",
                               "--spectral-option", "first_step_prior=(0.8, 0.1)"], capsys)
    assert code == 0 and "options: first_step=True, first_step_prior=[0.8, 0.1]" in stdout
    settings = json.loads(out.read_text())["provenance"]["settings"]
    assert settings["spectral_options"] == {"first_step": True, "first_step_prior": [0.8, 0.1]}
    # --settings-from carries them; an option given as well is merged over them
    code, stdout, _ = run_cli(["analyze", str(arch), "-q", "--settings-from", str(out), "--spectral-option",
                               "correlation_shape=flat"], capsys)
    assert code == 0 and "correlation_shape=flat, first_step=True" in stdout
    for opt, message in [("frist_step=True", "unknown name 'frist_step'"), ("first_step", "expected NAME=VALUE"),
                         ("first_step=1", "first_step must be True or False"),
                         ("first_step_prior=(2, 0.1)", "first_step_prior must be (p0, w)")]:
        code, _, err = run_cli(["analyze", str(tmp_path / "absent.nc"), "--spectral-option", opt], capsys)
        assert code == 2 and message in err and "absent.nc" not in err, (opt, err)
    code, _, err = run_cli(["analyze", str(arch), "-q", "--method", "bootstrap", "--spectral-option", "first_step=True"],
                           capsys)
    assert code == 0 and "--method bootstrap ignores it" in err


def test_diagnose_flags_failed_run(tiny, tmp_path, capsys):
    bad = _collapsed_dump(tiny, tmp_path)
    out = tmp_path / "diag.json"
    code, stdout, _ = run_cli(["diagnose", str(bad), "--types", "1=Li,2=P,3=O,4=Si", "--timestep-ps", "0.001",
                               "--temperature-K", "1000", "--json", str(out), "-q"], capsys)
    assert code == 0 and "failed" in stdout
    doc = json.loads(out.read_text())
    (run,) = doc["runs"]
    assert run["status"] == "failed"
    assert run["first_flag_time_ps"] == pytest.approx(1.0, abs=0.03)
    assert run["trusted_until_ps"] == pytest.approx(0.0, abs=0.03)
    assert any(f["check"] == "min_distance" for f in run["flags"])
    code, _, _ = run_cli(["diagnose", str(bad), "--types", "1=Li,2=P,3=O,4=Si", "--timestep-ps", "0.001",
                          "--temperature-K", "1000", "-q", "--fail-on-failed"], capsys)
    assert code == 3


def test_cli_choices_agree_with_the_library_and_help_is_light():
    """The parser's static choice lists equal the library's, and ugk --help imports no science code."""
    from uncertainty_gk import arrhenius, tables
    from uncertainty_gk.cli import arrhenius as cli_arr, table as cli_table

    assert cli_arr.ARRHENIUS_QUANTITIES == arrhenius.QUANTITIES
    assert cli_table.TABLE_KINDS == tables.TABLE_KINDS
    code = ("import sys; from uncertainty_gk.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('numpy', 'xarray', 'scipy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_method_is_a_clear_error(capsys, tmp_path):
    assert main(["analyze", str(tmp_path / "x.nc"), "--method", "nonsense"]) == 2
    assert "unknown estimator" in capsys.readouterr().err


def test_program_exits_without_teardown_after_the_other_exit_handlers(tmp_path):
    """``ugk`` (cli.main.run) ends the process with the command's status once every other exit
    handler has run and the output is flushed, without the interpreter's teardown (which would
    call the __del__ of an object still alive at exit); main() called from Python exits as usual."""
    marks = tmp_path / "marks.txt"
    code = f"""
import atexit, sys
from uncertainty_gk.cli.main import main, run

class Alive:
    def __del__(self, _open=open):          # builtins may be gone at teardown
        _open({str(marks)!r}, "a").write("teardown\\n")

keep = Alive()
atexit.register(lambda: open({str(marks)!r}, "a").write("handler\\n"))
sys.argv = ["ugk"] + sys.argv[1:]
run() if sys.argv[1] != "plain" else sys.exit(main(sys.argv[2:]))
"""
    ok = subprocess.run([sys.executable, "-c", code, "--version"], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("uncertainty_gk ")      # piped stdout flushed
    assert marks.read_text() == "handler\n"
    marks.unlink()
    bad = subprocess.run([sys.executable, "-c", code, "info", str(tmp_path / "nope.nc")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error:")
    assert marks.read_text() == "handler\n"
    marks.unlink()
    plain = subprocess.run([sys.executable, "-c", code, "plain", "info", str(tmp_path / "nope.nc")],
                           capture_output=True, text=True)
    assert plain.returncode == 2 and marks.read_text() == "handler\nteardown\n"


@pytest.mark.parametrize("preset", [None, "2"])
def test_ingest_starts_no_blas_threads_unless_asked(tiny, tmp_path, preset):
    """ugk ingest asks OpenBLAS for one thread (its idle workers cost CPU at numpy's import);
    a value the user set is kept."""
    import os

    code = ("import os, sys; from uncertainty_gk.cli.main import main; "
            f"main(['ingest', {str(tiny / 'campaign.toml')!r}, '-o', {str(tmp_path / 'out.nc')!r}, '-q']); "
            "print(os.environ.get('OPENBLAS_NUM_THREADS'))")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == (preset or "1")
