"""The exact transition model of gymnax's FrozenLake, built from the map and slip rule."""

import numpy as np

MAP_4X4 = ("SFFF", "FHFH", "FFFH", "HFFG")
MOVES = ((0, -1), (1, 0), (0, 1), (-1, 0))  # LEFT, DOWN, RIGHT, UP


def transition_model(desc=MAP_4X4, slippery=True):
    """P[s, a, s'] and R[s, a, s'] (reward 1 on reaching the goal); holes and goal absorb."""
    nrow, ncol = len(desc), len(desc[0])
    n = nrow * ncol
    P = np.zeros((n, 4, n))
    R = np.zeros((n, 4, n))
    terminal = np.array([desc[s // ncol][s % ncol] in "HG" for s in range(n)])
    for s in range(n):
        for a in range(4):
            if terminal[s]:
                P[s, a, s] = 1.0
                continue
            outcomes = [(a, 1 / 3), ((a - 1) % 4, 1 / 3), ((a + 1) % 4, 1 / 3)] if slippery else [(a, 1.0)]
            for move, p in outcomes:
                r = min(max(s // ncol + MOVES[move][0], 0), nrow - 1)
                c = min(max(s % ncol + MOVES[move][1], 0), ncol - 1)
                s2 = r * ncol + c
                P[s, a, s2] += p
                R[s, a, s2] = float(desc[r][c] == "G")
    return P, R, terminal


def q_values(P, R, terminal, gamma, policy_backup, iters=5000):
    """Q by repeated backups; `policy_backup(Q) -> V` picks the policy."""
    Q = np.zeros(P.shape[:2])
    expected_r = (P * R).sum(-1)
    for _ in range(iters):
        V = np.where(terminal, 0.0, policy_backup(Q))
        Q = expected_r + gamma * P @ V
    return Q


def optimal_q(P, R, terminal, gamma):
    return q_values(P, R, terminal, gamma, lambda Q: Q.max(-1))


def epsilon_soft_optimal_q(P, R, terminal, gamma, epsilon):
    """The fixed point of SARSA with a fixed epsilon: optimal among epsilon-greedy policies."""
    return q_values(P, R, terminal, gamma, lambda Q: (1 - epsilon) * Q.max(-1) + epsilon * Q.mean(-1))


def success_probability(P, R, terminal, policy, horizon):
    """Exact probability that `policy` [S] reaches the goal within `horizon` steps from state 0."""
    n = P.shape[0]
    reward = (P * R).sum(-1)[np.arange(n), policy]
    step = P[np.arange(n), policy]
    V = np.zeros(n)
    for _ in range(horizon):
        V = np.where(terminal, 0.0, reward + step @ V)
    return V[0]
