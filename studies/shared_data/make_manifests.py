"""Write campaign manifests for the shared real data (development and validation only).

    python studies/shared_data/make_manifests.py ../shared/data OUTDIR

writes OUTDIR/lpso_T1000.toml, OUTDIR/failures.toml and OUTDIR/argyrodite.toml with
absolute paths into the data folder (the data itself is never copied or committed).
"""

import argparse
from pathlib import Path

LPSO = """# clean multi-seed LAMMPS runs of Li3.25P0.75Si0.25O4 (Pedone), 100 ps NVT each
[defaults]
types = {{1 = "Li", 2 = "P", 3 = "O", 4 = "Si"}}
charges = {{Li = 0.6, P = 3.0, Si = 2.4, O = -1.2}}   # the potential's partial charges
mobile = ["Li"]
temperature_K = 1000
labels = {{structure = "lpso", model = "pedone"}}
{runs}"""

RUN = """
[[runs]]
trajectory = "{traj}"
log = "{log}"
labels = {{seed = {seed}}}
"""

FAIL = """# LAMMPS runs with a broken O-O Buckingham term (see shared/data/README.md)
[defaults]
types = {{1 = "Li", 2 = "P", 3 = "O", 4 = "Si"}}
charges = {{Li = 0.6, P = 3.0, Si = 2.4, O = -1.2}}
mobile = ["Li"]
temperature_K = 1000
{runs}"""

ARGY = """# VASP AIMD of Li6PS5Cl at 500 K: 17 runs, three site-disorder levels
[defaults]
frame_interval_ps = 0.1
temperature_K = 500
mobile = ["Li"]

[[runs]]
glob = "{folder}/Li6PS5Cl_*_run*.XDATCAR.gz"
label_pattern = 'Li6PS5Cl_(?P<disorder>\\w+?)_run(?P<seed>\\d+)'
labels = {{structure = "Li6PS5Cl"}}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="the shared data folder (../shared/data)")
    ap.add_argument("outdir", type=Path)
    a = ap.parse_args()
    data = a.data.resolve()
    a.outdir.mkdir(parents=True, exist_ok=True)
    lp = data / "lammps" / "lpso_T1000"
    runs = "".join(RUN.format(traj=lp / f"dump.T1000_s{s}.lammpstrj", log=lp / f"log.T1000_s{s}.lammps", seed=s)
                   for s in (1, 2, 3))
    (a.outdir / "lpso_T1000.toml").write_text(LPSO.format(runs=runs))
    fl = data / "lammps" / "failures"
    runs = ""
    for tag in ("bad_C1.5_T1000_s1", "bad_C1_T1000_s1"):
        runs += RUN.format(traj=fl / f"dump.{tag}.lammpstrj", log=fl / f"log.{tag}.lammps", seed=1).replace(
            "labels = {seed = 1}", f'labels = {{structure = "lpso", model = "{tag.split("_T")[0]}", seed = 1}}')
    (a.outdir / "failures.toml").write_text(FAIL.format(runs=runs))
    (a.outdir / "argyrodite.toml").write_text(ARGY.format(folder=data / "vasp" / "argyrodite_Li6PS5Cl"))
    print(f"wrote manifests to {a.outdir}")


if __name__ == "__main__":
    main()
