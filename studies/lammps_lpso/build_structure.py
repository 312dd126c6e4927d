#!/usr/bin/env python3
"""Build the starting LAMMPS data file of Li3.25P0.75Si0.25O4 (LPSO).

Recipe
------
1. beta-Li3PO4, space group Pmn2_1 (No. 31, standard setting: mirror normal to a,
   polar axis c), experimental lattice constants a = 6.115, b = 5.239, c = 4.855 A
   (Keffer et al., Inorg. Chem. 6, 119 (1967)).  Asymmetric unit (fractional,
   standard setting) taken from the Materials Project entry mp-13725 transformed to
   that setting: Li1 4b, Li2 2a, P 2a, O1 4b, O2 2a, O3 2a -> 16 atoms, Z = 2.
2. The axes are reordered to (c, b, a) (the Materials Project orientation, polar axis
   along x) and the cell is repeated 3 x 3 x 2 -> 14.6 x 15.7 x 12.2 A, 288 atoms
   (108 Li, 36 P, 144 O).  (This is 2 x 3 x 3 in the standard setting.)
3. 9 of the 36 P are replaced by Si, chosen at random (seeded) among selections that
   keep the Si well apart (the best of ``--tries`` random draws by minimum Si-Si
   distance).
4. 9 interstitial Li are added for charge balance (Li3+x P1-x Si_x O4, x = 0.25): void
   centres are found on a 0.25 A grid (points at least ``--min-o`` from O and
   ``--min-cation`` from every cation, locally most open), and 9 of them are drawn at
   random (seeded), preferring voids next to a Si and keeping the new Li at least
   ``--min-li-li`` apart.

Atom types: 1 Li, 2 P, 3 O, 4 Si; charges of the Pedone potential (Li 0.6, P 3.0,
Si 2.4, O -1.2), total charge 0.  Atoms 1..288 follow the supercell, 289..297 are the
interstitial Li.  Only numpy is needed.

usage: python build_structure.py -o lpso_start.data --seed 7
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

# --- beta-Li3PO4, Pmn2_1, standard setting ---------------------------------------
CELL_ABC = (6.115, 5.239, 4.855)  # A, Keffer et al. 1967
# (element, x, y, z) of the asymmetric unit (mp-13725 in the standard setting)
ASYMMETRIC_UNIT = [
    ("Li", 0.25287, 0.32643, 0.50836),  # 4b
    ("Li", 0.00000, 0.84452, 0.50942),  # 2a
    ("P", 0.00000, 0.17574, 0.00142),   # 2a
    ("O", 0.20714, 0.31351, 0.10701),   # 4b
    ("O", 0.00000, 0.89649, 0.10213),   # 2a
    ("O", 0.00000, 0.18160, 0.68519),   # 2a
]
# symmetry operations of Pmn2_1 (No. 31): (x,y,z) (-x,y,z) (x+1/2,-y,z+1/2) (-x+1/2,-y,z+1/2)
SYMOPS = [
    (np.array([1, 1, 1]), np.array([0.0, 0.0, 0.0])),
    (np.array([-1, 1, 1]), np.array([0.0, 0.0, 0.0])),
    (np.array([1, -1, 1]), np.array([0.5, 0.0, 0.5])),
    (np.array([-1, -1, 1]), np.array([0.5, 0.0, 0.5])),
]

TYPES = {"Li": 1, "P": 2, "O": 3, "Si": 4}
MASSES = {"Li": 6.941, "P": 30.973762, "O": 15.9994, "Si": 28.0855}
CHARGES = {"Li": 0.6, "P": 3.0, "O": -1.2, "Si": 2.4}


def unit_cell() -> tuple[list[str], np.ndarray]:
    """Symmetry-expanded conventional cell, fractional coordinates (standard setting)."""
    symbols: list[str] = []
    frac: list[np.ndarray] = []
    for el, *xyz in ASYMMETRIC_UNIT:
        p = np.array(xyz)
        for rot, shift in SYMOPS:
            q = (rot * p + shift) % 1.0
            if any(np.allclose(np.minimum(abs(q - f), 1 - abs(q - f)), 0, atol=1e-4)
                   for s, f in zip(symbols, frac) if s == el):
                continue
            symbols.append(el)
            frac.append(q)
    return symbols, np.array(frac)


def mic(d: np.ndarray, box: np.ndarray) -> np.ndarray:
    return d - box * np.round(d / box)


def min_dist(points: np.ndarray, atoms: np.ndarray, box: np.ndarray, chunk: int = 4096) -> np.ndarray:
    out = np.empty(len(points))
    for i in range(0, len(points), chunk):
        d = mic(points[i:i + chunk, None, :] - atoms[None, :, :], box)
        out[i:i + chunk] = np.sqrt((d ** 2).sum(-1)).min(1)
    return out


def build(seed: int, n_si: int = 9, reps=(3, 3, 2), tries: int = 200, grid: float = 0.25,
          min_o: float = 1.8, min_cation: float = 1.95, min_li_li: float = 3.0,
          near_si: float = 4.0):
    rng = np.random.default_rng(seed)
    symbols, frac = unit_cell()
    if len(symbols) != 16:
        raise RuntimeError(f"unit cell has {len(symbols)} atoms, expected 16")
    # reorder axes (a, b, c) -> (c, b, a): polar axis along x, mirror normal along z
    frac = frac[:, [2, 1, 0]]
    cell = np.array([CELL_ABC[2], CELL_ABC[1], CELL_ABC[0]])
    # supercell
    sym_all, pos = [], []
    for i in range(reps[0]):
        for j in range(reps[1]):
            for k in range(reps[2]):
                for s, f in zip(symbols, frac):
                    sym_all.append(s)
                    pos.append((f + [i, j, k]) * cell)
    box = cell * np.array(reps)
    pos = np.array(pos) % box
    sym = np.array(sym_all, dtype=object)

    # --- P -> Si: best spread of `tries` seeded random draws ---
    p_idx = np.flatnonzero(sym == "P")
    best, best_d = None, -1.0
    for _ in range(tries):
        pick = rng.choice(p_idx, size=n_si, replace=False)
        d = mic(pos[pick, None, :] - pos[None, pick, :], box)
        r = np.sqrt((d ** 2).sum(-1)) + np.eye(n_si) * 1e9
        if r.min() > best_d:
            best, best_d = pick, r.min()
    sym[best] = "Si"

    # --- interstitial Li in the most open voids ---
    n = np.maximum(np.round(box / grid).astype(int), 1)
    g = np.stack(np.meshgrid(*[np.arange(m) * b / m for m, b in zip(n, box)], indexing="ij"),
                 -1).reshape(-1, 3)
    is_o = sym == "O"
    d_o = min_dist(g, pos[is_o], box)
    d_c = min_dist(g, pos[~is_o], box)
    ok = (d_o >= min_o) & (d_c >= min_cation)
    cand, clear = g[ok], np.minimum(d_o[ok], d_c[ok])
    order = np.argsort(-clear)
    centres: list[np.ndarray] = []  # greedy: most open point of each void
    for idx in order:
        c = cand[idx]
        if centres and min_dist(c[None], np.array(centres), box)[0] < 1.2:
            continue
        centres.append(c)
    centres_a = np.array(centres)
    if len(centres_a) < n_si:
        raise RuntimeError(f"only {len(centres_a)} voids found; relax --min-o / --min-cation")
    d_si = min_dist(centres_a, pos[sym == "Si"], box)
    weight = np.where(d_si <= near_si, 4.0, 1.0)
    chosen: list[np.ndarray] = []
    for _ in range(1000):
        chosen = []
        order = rng.choice(len(centres_a), size=len(centres_a), replace=False,
                           p=weight / weight.sum())
        for idx in order:
            c = centres_a[idx]
            if chosen and min_dist(c[None], np.array(chosen), box)[0] < min_li_li:
                continue
            chosen.append(c)
            if len(chosen) == n_si:
                break
        if len(chosen) == n_si:
            break
    else:
        raise RuntimeError("could not place the interstitial Li; lower --min-li-li")
    sym = np.concatenate([sym, np.array(["Li"] * n_si, dtype=object)])
    pos = np.vstack([pos, np.array(chosen)])
    info = {"min_si_si": best_d, "n_voids": len(centres_a),
            "li_i_min_o": min_dist(np.array(chosen), pos[:-n_si][is_o], box).min(),
            "li_i_min_cation": min_dist(np.array(chosen), pos[:-n_si][~is_o], box).min()}
    return sym, pos, box, info


def write_lammps_data(path: str, sym, pos, box, title: str) -> None:
    q = sum(CHARGES[s] for s in sym)
    if abs(q) > 1e-8:
        raise RuntimeError(f"cell not neutral: total charge {q}")
    lines = [title, "", f"{len(sym)} atoms", f"{len(TYPES)} atom types", "",
             f"0.0 {box[0]:.6f} xlo xhi", f"0.0 {box[1]:.6f} ylo yhi", f"0.0 {box[2]:.6f} zlo zhi",
             "", "Masses", ""]
    for el, t in sorted(TYPES.items(), key=lambda kv: kv[1]):
        lines.append(f"{t} {MASSES[el]} # {el}")
    lines += ["", "Atoms # charge", ""]
    for i, (s, r) in enumerate(zip(sym, pos), start=1):
        lines.append(f"{i} {TYPES[s]} {CHARGES[s]} {r[0]:.6f} {r[1]:.6f} {r[2]:.6f}")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", default="lpso_start.data")
    ap.add_argument("--seed", type=int, default=7, help="seed for the Si and Li_i placement")
    ap.add_argument("--n-si", type=int, default=9, help="number of P replaced by Si (= Li_i added)")
    ap.add_argument("--tries", type=int, default=200)
    ap.add_argument("--min-o", type=float, default=1.8, help="min Li_i-O distance (A)")
    ap.add_argument("--min-cation", type=float, default=1.95, help="min Li_i-cation distance (A)")
    ap.add_argument("--min-li-li", type=float, default=3.0, help="min Li_i-Li_i distance (A)")
    a = ap.parse_args(argv)
    sym, pos, box, info = build(a.seed, n_si=a.n_si, tries=a.tries, min_o=a.min_o,
                                min_cation=a.min_cation, min_li_li=a.min_li_li)
    counts = {el: int((sym == el).sum()) for el in TYPES}
    title = (f"Li3.25P0.75Si0.25O4: beta-Li3PO4 (Pmn2_1) 3x3x2, {a.n_si} P->Si + {a.n_si} Li_i, "
             f"seed {a.seed} (uncertainty_gk studies/lammps_lpso/build_structure.py)")
    write_lammps_data(a.output, sym, pos, box, title)
    print(f"wrote {a.output}: {len(sym)} atoms {counts}, box {box.round(4).tolist()} A")
    print("  min Si-Si {min_si_si:.2f} A, {n_voids} voids, Li_i: min d(O) {li_i_min_o:.2f} A, "
          "min d(cation) {li_i_min_cation:.2f} A".format(**info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
