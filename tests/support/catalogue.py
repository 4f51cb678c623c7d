"""Seeded mistakes and alternative correct answers, as edits of the reference solution's cells.

Each case names the item it belongs to and the points that item must get: a mistake loses
exactly the rubric's points on its own item, and every other item keeps full points.
"""

from dataclasses import dataclass, field

from autograder.grading.submission import Submission

CLOSED_FORM = "x_t = torch.sqrt(alpha_bar[t]) * x_0 + torch.sqrt(1 - alpha_bar[t]) * noise"
NOISY = (
    "x_t = torch.sqrt(alpha_bar[t, None, None, None]) * x_0 + \\\n"
    "        torch.sqrt(1 - alpha_bar[t, None, None, None]) * noise"
)
TRAIN_STEP = (
    "            # generate a noisy minibatch\n"
    "            x_t, noise, sampled_t = generate_noisy_samples(x, beta.to(device))\n"
)
EVAL_LOSS = (
    "            loss = F.mse_loss(estimated_noise, noise)\n            ### END ANSWER\n\n            metrics.add"
)
SIGMA = "sigma = torch.sqrt(beta[i])"
Z = "z = torch.randn_like(x) if i > 0 else torch.zeros_like(x)"
MEAN = "((1 - alpha[i]) / torch.sqrt(1 - alpha_bar[i]))"
INIT = "x = torch.randn_like(x_0[:10]).to(device)"


@dataclass
class Case:
    name: str
    item: str
    points: float
    changes: dict[str, list[tuple[str, str]] | str]
    added: list[str] = field(default_factory=list)


def variant(reference: Submission, case: Case) -> Submission:
    """The reference submission with a case's edits, and its added cells at the end."""
    answers = dict(reference.answers)
    for grade_id, change in case.changes.items():
        source = answers[grade_id]
        if isinstance(change, str):
            source = change
        else:
            for old, new in change:
                assert old in source, f"{case.name}: {old!r} is not in {grade_id}"
                source = source.replace(old, new)
        answers[grade_id] = source
    cells = [(g, answers[g] if g else s) for g, s in reference.code_cells] + [(None, a) for a in case.added]
    return Submission(answers=answers, code_cells=cells)


MISTAKES = [
    # 12.2a: 0 points if the scaling of x_0 or the noise is incorrect
    Case(
        "closed form with alpha, not alpha_bar",
        "12.2a",
        0,
        {"closed_form_noisy_images": [(CLOSED_FORM, CLOSED_FORM.replace("alpha_bar", "alpha"))]},
    ),
    Case(
        "closed form without square roots",
        "12.2a",
        0,
        {"closed_form_noisy_images": [(CLOSED_FORM, "x_t = alpha_bar[t] * x_0 + (1 - alpha_bar[t]) * noise")]},
    ),
    Case(
        "closed form with scales swapped",
        "12.2a",
        0,
        {
            "closed_form_noisy_images": [
                (CLOSED_FORM, "x_t = torch.sqrt(1 - alpha_bar[t]) * x_0 + torch.sqrt(alpha_bar[t]) * noise")
            ]
        },
    ),
    Case(
        "closed form with rand, not randn",
        "12.2a",
        0,
        {"closed_form_noisy_images": [("torch.randn_like(x_0)", "torch.rand_like(x_0)")]},
    ),
    # 12.2c
    Case(
        "one t for the whole batch",
        "12.2c",
        0,
        {
            "generate_noisy_samples": [
                ("size=(x_0.shape[0],), device=x_0.device)", "size=(1,), device=x_0.device).expand(x_0.shape[0])")
            ]
        },
    ),
    Case(
        "returns other noise than it added",
        "12.2c",
        0,
        {"generate_noisy_samples": [("return x_t, noise, t", "return x_t, torch.randn_like(x_0), t")]},
    ),
    Case(
        "noisy samples with alpha, not alpha_bar",
        "12.2c",
        0,
        {"generate_noisy_samples": [(NOISY, NOISY.replace("alpha_bar[", "alpha["))]},
    ),
    Case(
        "noisy samples with rand, not randn",
        "12.2c",
        0,
        {"generate_noisy_samples": [("noise = torch.randn_like(x_0)", "noise = torch.rand_like(x_0)")]},
    ),
    Case(
        "noisy samples off by one in t",
        "12.2c",
        0,
        {"generate_noisy_samples": [(NOISY, NOISY.replace("[t, None", "[t - 1, None"))]},
    ),
    Case(
        "one noise image for all samples",
        "12.2c",
        0,
        {
            "generate_noisy_samples": [
                ("noise = torch.randn_like(x_0)", "noise = torch.randn_like(x_0[:1]).expand_as(x_0)")
            ]
        },
    ),
    # 12.5c: 1 for the samples, 1 for the model call, 1 for the loss; -1 for other mistakes in evaluate
    Case(
        "loss against x_0, not the noise",
        "12.5c",
        2,
        {"train_and_evaluate": [("F.mse_loss(estimated_noise, noise)", "F.mse_loss(estimated_noise, x)")]},
    ),
    Case(
        "model on the clean images",
        "12.5c",
        2,
        {"train_and_evaluate": [("model(x_t, sampled_t.to(torch.float))", "model(x, sampled_t.to(torch.float))")]},
    ),
    Case(
        "noisy samples from the wrong schedule",
        "12.5c",
        2,
        {
            "train_and_evaluate": [
                ("generate_noisy_samples(x, beta.to(device))", "generate_noisy_samples(x, (1 - beta).to(device))")
            ]
        },
    ),
    Case(
        "L1 loss, not MSE",
        "12.5c",
        2,
        {"train_and_evaluate": [("F.mse_loss(estimated_noise, noise)", "F.l1_loss(estimated_noise, noise)")]},
    ),
    Case(
        "summed, not mean, squared error",
        "12.5c",
        2,
        {
            "train_and_evaluate": [
                ("F.mse_loss(estimated_noise, noise)", "F.mse_loss(estimated_noise, noise, reduction='sum')")
            ]
        },
    ),
    Case(
        "time steps scaled to [0, 1]",
        "12.5c",
        2,
        {
            "train_and_evaluate": [
                ("model(x_t, sampled_t.to(torch.float))", "model(x_t, sampled_t.to(torch.float) / 1000)")
            ]
        },
    ),
    Case(
        "noisy minibatch unpacked in the wrong order",
        "12.5c",
        1,
        {
            "train_and_evaluate": [
                ("x_t, noise, sampled_t = generate_noisy_samples", "noise, x_t, sampled_t = generate_noisy_samples")
            ]
        },
    ),
    Case(
        "evaluate only: loss against x_0",
        "12.5c",
        2,
        {"train_and_evaluate": [(EVAL_LOSS, EVAL_LOSS.replace("(estimated_noise, noise)", "(estimated_noise, x)"))]},
    ),
    Case(
        "evaluate not implemented",
        "12.5c",
        2,
        {
            "train_and_evaluate": [
                (
                    EVAL_LOSS,
                    "            raise NotImplementedError()\n            ### END ANSWER\n\n            metrics.add",
                )
            ]
        },
    ),
    Case(
        "inline noise added without scaling",
        "12.5c",
        2,
        {
            "train_and_evaluate": [
                (
                    TRAIN_STEP,
                    "            sampled_t = torch.randint(1000, (len(x),))\n            noise = torch.randn_like(x)\n            x_t = x + noise\n",
                )
            ]
        },
    ),
    # 12.6d: -1 per mistake, x ~ N(0, I) included
    Case("sigma = beta, not its square root", "12.6d", 1, {"sample_from_model": [(SIGMA, "sigma = beta[i]")]}),
    Case(
        "sampling with alpha, not alpha_bar",
        "12.6d",
        1,
        {"sample_from_model": [(MEAN, MEAN.replace("alpha_bar", "alpha"))]},
    ),
    Case("noise added on the last step", "12.6d", 1, {"sample_from_model": [(Z, "z = torch.randn_like(x)")]}),
    Case("sampling noise from rand", "12.6d", 1, {"sample_from_model": [(Z, Z.replace("randn_like", "rand_like"))]}),
    Case("no sampling noise at all", "12.6d", 1, {"sample_from_model": [(Z, "z = torch.zeros_like(x)")]}),
    Case(
        "sampling off by one in the schedule",
        "12.6d",
        1,
        {"sample_from_model": [(MEAN, "((1 - alpha[i - 1]) / torch.sqrt(1 - alpha_bar[i - 1]))")]},
    ),
    Case("initial noise from rand", "12.6d", 1, {"initial_noise": [(INIT, INIT.replace("randn_like", "rand_like"))]}),
    Case("initial x is the data", "12.6d", 1, {"initial_noise": [(INIT, "x = x_0[:10].clone()")]}),
    Case(
        "sampler that never calls the model",
        "12.6d",
        0,
        {"sample_from_model": ("def sample_from_model(x, model, beta, device=device):\n    return x, [x.numpy()]\n")},
    ),
    Case(
        "two mistakes: sigma = beta and noise on the last step",
        "12.6d",
        0,
        {"sample_from_model": [(SIGMA, "sigma = beta[i]"), (Z, "z = torch.randn_like(x)")]},
    ),
    Case(
        "the same z at every step",
        "12.6d",
        1,
        {
            "sample_from_model": [
                (
                    Z,
                    "z = z if i < beta.shape[0] - 1 else torch.randn_like(x)\n            z = z if i > 0 else torch.zeros_like(x)",
                )
            ]
        },
    ),
    # 12.7c
    Case(
        "deterministic sampler still adds noise",
        "12.7c",
        1,
        {
            "deterministic_sample_from_model": [
                ("model(x, t))\n", "model(x, t)) + torch.sqrt(beta[i]) * torch.randn_like(x) * (i > 0)\n")
            ]
        },
    ),
    Case(
        "deterministic sampler with alpha, not alpha_bar",
        "12.7c",
        1,
        {"deterministic_sample_from_model": [(MEAN, MEAN.replace("alpha_bar", "alpha"))]},
    ),
    Case(
        "deterministic sampler skips t = 0",
        "12.7c",
        1,
        {
            "deterministic_sample_from_model": [
                ("reversed(range(0, beta.shape[0]))", "reversed(range(1, beta.shape[0]))")
            ]
        },
    ),
    Case(
        "deterministic sampler: noise and alpha",
        "12.7c",
        0,
        {
            "deterministic_sample_from_model": [
                (MEAN, MEAN.replace("alpha_bar", "alpha")),
                ("model(x, t))\n", "model(x, t)) + torch.sqrt(beta[i]) * torch.randn_like(x) * (i > 0)\n"),
            ]
        },
    ),
    # 12.8c
    Case(
        "labels not passed in training",
        "12.8c",
        0,
        {
            "train_conditional": [
                (
                    "model(x_t, sampled_t.to(torch.float), y)\n\n            # compute",
                    "model(x_t, sampled_t.to(torch.float))\n\n            # compute",
                )
            ]
        },
    ),
    Case(
        "labels not passed in evaluation",
        "12.8c",
        0,
        {
            "train_conditional": [
                (
                    "estimated_noise = model(x_t, sampled_t.to(torch.float), y)\n            loss",
                    "estimated_noise = model(x_t, sampled_t.to(torch.float), torch.zeros_like(y))\n            loss",
                )
            ]
        },
    ),
    Case(
        "conditional loss against x_0",
        "12.8c",
        0,
        {
            "train_conditional": [
                (
                    "loss = F.mse_loss(estimated_noise, noise)\n\n            # Optimize",
                    "loss = F.mse_loss(estimated_noise, x)\n\n            # Optimize",
                )
            ]
        },
    ),
    # 12.8e
    Case(
        "conditional sampler without the label",
        "12.8e",
        0,
        {"sample_from_model_conditional": [("model(x, t, c)", "model(x, t)")]},
    ),
    Case(
        "label as a plain int",
        "12.8e",
        0,
        {"sample_from_model_conditional": [("model(x, t, c)", "model(x, t, label)")]},
    ),
    Case("conditional sigma = beta", "12.8e", 0, {"sample_from_model_conditional": [(SIGMA, "sigma = beta[i]")]}),
    # 12.8f, 12.8g
    Case("label 5 instead of 3", "12.8f", 0, {"sample_label_3": [("label=3", "label=5")]}),
    Case(
        "unconditional model for label 3", "12.8f", 0, {"sample_label_3": [("model_conditional, beta", "model, beta")]}
    ),
    Case("five samples of label 3", "12.8f", 0, {"sample_label_3": [("x_0[:10]", "x_0[:5]")]}),
    Case("label 3 for every digit", "12.8g", 0, {"sample_every_digit": [("label=label)", "label=3)")]}),
    Case("every digit starts from the data", "12.8g", 0, {"sample_every_digit": [(INIT, "x = x_0[:10].clone()")]}),
]

ALTERNATIVES = [
    Case(
        "closed form with torch.randn(shape) and .sqrt()",
        "12.2a",
        1,
        {
            "closed_form_noisy_images": [
                ("noise = torch.randn_like(x_0)", "noise = torch.randn(x_0.shape)"),
                (CLOSED_FORM, "x_t = alpha_bar[t].sqrt() * x_0 + (1 - alpha_bar[t]).sqrt() * noise"),
            ]
        },
    ),
    Case(
        "noise from torch.randn(x_0.shape)",
        "12.2c",
        1,
        {"generate_noisy_samples": [("noise = torch.randn_like(x_0)", "noise = torch.randn(x_0.shape)")]},
    ),
    Case(
        "noisy samples with an explicit loop",
        "12.2c",
        1,
        {
            "generate_noisy_samples": [
                (
                    NOISY,
                    (
                        "x_t = torch.empty_like(x_0)\n"
                        "    for k in range(x_0.shape[0]):\n"
                        "        x_t[k] = alpha_bar[t[k]].sqrt() * x_0[k] + (1 - alpha_bar[t[k]]).sqrt() * noise[k]"
                    ),
                )
            ]
        },
    ),
    Case(
        "noisy samples with gather",
        "12.2c",
        1,
        {
            "generate_noisy_samples": [
                (
                    NOISY,
                    (
                        "ab = alpha_bar.gather(0, t).view(-1, 1, 1, 1)\n"
                        "    x_t = ab.sqrt() * x_0 + (1 - ab).sqrt() * noise"
                    ),
                )
            ]
        },
    ),
    Case(
        "noisy samples in float64 with torch.normal",
        "12.2c",
        1,
        {
            "generate_noisy_samples": [
                (
                    "noise = torch.randn_like(x_0)",
                    "noise = torch.normal(0.0, 1.0, size=x_0.shape, dtype=torch.float64)",
                ),
                (
                    NOISY,
                    "ab = alpha_bar.double()[t].reshape(-1, 1, 1, 1)\n    x_t = torch.sqrt(ab) * x_0 + torch.sqrt(1 - ab) * noise",
                ),
            ]
        },
    ),
    Case(
        "training with noise added inline",
        "12.5c",
        3,
        {
            "train_and_evaluate": [
                (
                    TRAIN_STEP,
                    (
                        "            sampled_t = torch.randint(0, beta.shape[0], (x.shape[0],))\n"
                        "            noise = torch.randn_like(x)\n"
                        "            ab = torch.cumprod(1 - beta, 0)[sampled_t].view(-1, 1, 1, 1)\n"
                        "            x_t = ab.sqrt() * x + (1 - ab).sqrt() * noise\n"
                    ),
                )
            ]
        },
    ),
    Case(
        "loss written out, arguments swapped, integer t",
        "12.5c",
        3,
        {
            "train_and_evaluate": [
                (
                    "loss = F.mse_loss(estimated_noise, noise)\n            ### END ANSWER\n\n            # Optimize",
                    "loss = ((noise - estimated_noise) ** 2).mean()\n            ### END ANSWER\n\n            # Optimize",
                ),
                (
                    EVAL_LOSS,
                    EVAL_LOSS.replace(
                        "F.mse_loss(estimated_noise, noise)", "torch.nn.functional.mse_loss(noise, estimated_noise)"
                    ),
                ),
                (
                    "estimated_noise = model(x_t, sampled_t.to(torch.float))\n\n",
                    "estimated_noise = model(x_t, sampled_t)\n\n",
                ),
            ]
        },
    ),
    Case(
        "sampler with precomputed coefficients and a helper cell",
        "12.6d",
        2,
        {
            "sample_from_model": [
                (Z + "\n", "z = torch.randn(x.shape) if i > 0 else 0\n"),
                (
                    "x = (1 / torch.sqrt(alpha[i])) * \\\n                (x - ((1 - alpha[i]) / torch.sqrt(1 - alpha_bar[i])) * model(x, t)) + \\\n                sigma * z",
                    "x = reverse_step(x, model(x, t), alpha[i], alpha_bar[i]) + sigma * z",
                ),
            ]
        },
        added=["def reverse_step(x, eps, a, ab):\n    return (x - (1 - a) / (1 - ab).sqrt() * eps) / a.sqrt()\n"],
    ),
    Case(
        "float64 initial noise from torch.randn",
        "12.6d",
        2,
        {"initial_noise": [(INIT, "x = torch.randn(10, 1, 32, 32, dtype=torch.float64)")]},
    ),
    Case(
        "deterministic sampler in its own words",
        "12.7c",
        2,
        {
            "deterministic_sample_from_model": (
                "@torch.no_grad()\n"
                "def deterministic_sample_from_model(x, model, beta, device=device):\n"
                "    a = 1 - beta\n"
                "    a_bar = torch.cumprod(a, dim=0)\n"
                "    history = []\n"
                "    for step in range(beta.shape[0] - 1, -1, -1):\n"
                "        steps = torch.full((x.shape[0],), step, dtype=torch.long, device=device)\n"
                "        eps = model(x, steps)\n"
                "        x = (x - (1 - a[step]) / torch.sqrt(1 - a_bar[step]) * eps) / torch.sqrt(a[step])\n"
                "        if step % 100 == 0:\n"
                "            history.append(x.cpu().numpy())\n"
                "    return x, history\n"
            )
        },
    ),
    Case(
        "conditional training with float labels cast back",
        "12.8c",
        1,
        {
            "train_conditional": [
                ("y = y.to(device)\n            optimizer", "y = y.to(device).float().long()\n            optimizer")
            ]
        },
    ),
    Case(
        "conditional sampler with torch.full labels",
        "12.8e",
        1,
        {
            "sample_from_model_conditional": [
                (
                    "c = (torch.ones(x.shape[0]) * label).long().to(device)",
                    "c = torch.full((x.shape[0],), label, dtype=torch.long)",
                )
            ]
        },
    ),
    Case(
        "conditional sampler with one label for the whole batch",
        "12.8e",
        1,
        {
            "sample_from_model_conditional": [
                ("c = (torch.ones(x.shape[0]) * label).long().to(device)", "c = torch.tensor([label])")
            ]
        },
    ),
    Case(
        "every digit with tensor labels and randn",
        "12.8g",
        1,
        {
            "sample_every_digit": [
                (INIT, "x = torch.randn(10, 1, 32, 32)"),
                ("label=label)", "label=torch.tensor(label))"),
            ]
        },
    ),
]

# Issue 12: answers in the styles of public DDPM code and of students. Rubric decisions (the score
# sheet is silent): clamping the final sample to [-1, 1] is no mistake (it only changes how the
# result is shown); clamping inside the chain, of x_t or of the predicted x_0 (the paper's
# clip_denoised), is one deviation from Algorithm 2 (-1 in 12.6d); 12.7c follows 12.6d's rule
# (-1 per mistake, at most 2); 12.8f/12.8g grade the samples produced and the labels that reached
# the model, not the shape of the calls.
STEP = (
    "x = (1 / torch.sqrt(alpha[i])) * \\\n"
    "                (x - ((1 - alpha[i]) / torch.sqrt(1 - alpha_bar[i])) * model(x, t)) + \\\n"
    "                sigma * z"
)
DET_STEP = (
    "x = (1 / torch.sqrt(alpha[i])) * \\\n"
    "                (x - ((1 - alpha[i]) / torch.sqrt(1 - alpha_bar[i])) * model(x, t))"
)
LEAD = "(1 / torch.sqrt(alpha[i]))"
CLAMP_EVERY_STEP = "            x = x.clamp(-1, 1)\n            if i % 100 == 0:"
HIST = "            if i % 100 == 0:"
CLIP_DENOISED = (  # annotated/diffusers style: predicted x_0 clipped, then the posterior mean; σ_t = √β_t
    "eps = model(x, t)\n"
    "            x0 = ((x - torch.sqrt(1 - alpha_bar[i]) * eps) / torch.sqrt(alpha_bar[i])).clamp(-1, 1)\n"
    "            ab_prev = alpha_bar[i - 1] if i > 0 else torch.tensor(1.0)\n"
    "            mean = (torch.sqrt(ab_prev) * beta[i] / (1 - alpha_bar[i])) * x0 + \\\n"
    "                (torch.sqrt(alpha[i]) * (1 - ab_prev) / (1 - alpha_bar[i])) * x\n"
    "            x = mean + sigma * z"
)
LABML = (  # labml.ai's p_sample: eps_coef, and noise from the variance at every step
    "def sample_from_model(x, model, beta, device=device):\n"
    "    alpha = 1.0 - beta\n"
    "    alpha_bar = torch.cumprod(alpha, dim=0)\n"
    "    x_hist = []\n"
    "    model.eval()\n"
    "    with torch.no_grad():\n"
    "        for t_ in range(beta.shape[0] - 1, -1, -1):\n"
    "            t = x.new_full((x.shape[0],), t_, dtype=torch.long)\n"
    "            eps_theta = model(x, t)\n"
    "            eps_coef = (1 - alpha[t_]) / (1 - alpha_bar[t_]) ** .5\n"
    "            mean = 1 / (alpha[t_] ** 0.5) * (x - eps_coef * eps_theta)\n"
    "            eps = torch.randn(x.shape, device=x.device)\n"
    "            x = mean + (beta[t_] ** .5) * eps\n"
    "            if t_ % 100 == 0:\n"
    "                x_hist.append(x.cpu().numpy())\n"
    "    return x, x_hist\n"
)
ANNOTATED = (  # The Annotated Diffusion Model's p_sample, with its posterior variance for σ_t²
    "@torch.no_grad()\n"
    "def sample_from_model(x, model, beta, device=device):\n"
    "    alphas = 1. - beta\n"
    "    alphas_cumprod = torch.cumprod(alphas, axis=0)\n"
    "    alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)\n"
    "    posterior_variance = beta * (1. - alphas_cumprod_prev) / (1. - alphas_cumprod)\n"
    "    x_hist = []\n"
    "    model.eval()\n"
    "    for i in reversed(range(0, beta.shape[0])):\n"
    "        t = torch.full((x.shape[0],), i, device=device, dtype=torch.long)\n"
    "        model_mean = torch.sqrt(1.0 / alphas[i]) * (x - beta[i] * model(x, t) / torch.sqrt(1. - alphas_cumprod[i]))\n"
    "        if i == 0:\n"
    "            x = model_mean\n"
    "        else:\n"
    "            x = model_mean + torch.sqrt(posterior_variance[i]) * torch.randn_like(x)\n"
    "        if i % 100 == 0:\n"
    "            x_hist.append(x.cpu().numpy())\n"
    "    return x, x_hist\n"
)
EVERY = (
    "    x = torch.randn_like(x_0[:10]).to(device)\n"
    "    x, x_hist = sample_from_model_conditional(x, model_conditional, beta, label=label)\n"
)
ONE_AT_A_TIME = (
    "    samples = []\n"
    "    for _ in range(10):\n"
    "        x1, _ = sample_from_model_conditional(torch.randn(1, 1, 32, 32), model_conditional, beta, label)\n"
    "        samples.append(x1)\n"
    "    x = torch.cat(samples)\n"
)
BATCH_OF_100 = (
    "model_conditional.eval()\n"
    "labels = torch.arange(10).repeat_interleave(10)\n"
    "x = torch.randn(100, 1, 32, 32, device=next(model_conditional.parameters()).device)\n"
    "x, _ = sample_from_model_conditional(x, model_conditional, beta, labels)\n"
    "x_per_class = [x[labels == d].cpu().numpy() for d in range(10)]\n"
)
FULL_LABELS = (
    "c = (torch.ones(x.shape[0]) * label).long().to(device)",
    "c = torch.full((x.shape[0],), label, dtype=torch.long)",
)

MISTAKES += [
    Case(
        "leading factor 1/sqrt(alpha_bar), not 1/sqrt(alpha)",
        "12.6d",
        1,
        {"sample_from_model": [(LEAD, "(1 / torch.sqrt(alpha_bar[i]))")]},
    ),
    Case("x clamped to [-1, 1] after every step", "12.6d", 1, {"sample_from_model": [(HIST, CLAMP_EVERY_STEP)]}),
    Case(
        "predicted x_0 clipped (clip_denoised), sigma = sqrt(beta)",
        "12.6d",
        1,
        {"sample_from_model": [(STEP, CLIP_DENOISED)]},
    ),
    Case("labml style: noise added on every step, the last too", "12.6d", 1, {"sample_from_model": LABML}),
    Case("annotated style: posterior variance for sigma", "12.6d", 1, {"sample_from_model": ANNOTATED}),
    Case(
        "torch.clip of x inside the loop",
        "12.6d",
        1,
        {"sample_from_model": [("sigma * z\n", "sigma * z\n            x = torch.clip(x, -1.0, 1.0)\n")]},
    ),
    Case(
        "two mistakes: 1/sqrt(alpha_bar) and noise on the last step",
        "12.6d",
        0,
        {"sample_from_model": [(LEAD, "(1 / torch.sqrt(alpha_bar[i]))"), (Z, "z = torch.randn_like(x)")]},
    ),
    Case(
        "two mistakes: clamping inside and sigma = beta",
        "12.6d",
        0,
        {"sample_from_model": [(HIST, CLAMP_EVERY_STEP), (SIGMA, "sigma = beta[i]")]},
    ),
    Case(
        "two mistakes: clip_denoised and rand noise",
        "12.6d",
        0,
        {"sample_from_model": [(STEP, CLIP_DENOISED), (Z, Z.replace("randn_like", "rand_like"))]},
    ),
    Case(
        "deterministic sampler with 1/sqrt(alpha_bar)",
        "12.7c",
        1,
        {"deterministic_sample_from_model": [(LEAD, "(1 / torch.sqrt(alpha_bar[i]))")]},
    ),
    Case(
        "deterministic sampler clamps every step",
        "12.7c",
        1,
        {"deterministic_sample_from_model": [(HIST, CLAMP_EVERY_STEP)]},
    ),
    Case(
        "deterministic sampler: clamping and alpha",
        "12.7c",
        0,
        {"deterministic_sample_from_model": [(HIST, CLAMP_EVERY_STEP), (MEAN, MEAN.replace("alpha_bar", "alpha"))]},
    ),
    Case(
        "conditional sampler clamps every step",
        "12.8e",
        0,
        {"sample_from_model_conditional": [(HIST, CLAMP_EVERY_STEP)]},
    ),
    Case(
        "conditional sampler with 1/sqrt(alpha_bar)",
        "12.8e",
        0,
        {"sample_from_model_conditional": [(LEAD, "(1 / torch.sqrt(alpha_bar[i]))")]},
    ),
    Case(
        "the same initial noise for every digit",
        "12.8g",
        0,
        {
            "sample_every_digit": (
                "x_per_class = []\nx_T = torch.randn(10, 1, 32, 32)\nfor label in range(10):\n"
                "    x, x_hist = sample_from_model_conditional(x_T.clone(), model_conditional, beta, label=label)\n"
                "    x_per_class.append(x.detach().cpu().numpy())\n"
            )
        },
    ),
    Case(
        "labels per image, but the sampler takes one label",
        "12.8g",
        0,
        {"sample_every_digit": BATCH_OF_100, "sample_from_model_conditional": [FULL_LABELS]},
    ),
    Case(
        "label 3 one image at a time, only five",
        "12.8f",
        0,
        {
            "sample_label_3": (
                "x = torch.cat([sample_from_model_conditional(torch.randn(1, 1, 32, 32), model_conditional, beta, 3)[0]"
                " for _ in range(5)])\n"
            )
        },
    ),
]

ALTERNATIVES += [
    Case(
        "final sample clamped to [-1, 1]",
        "12.6d",
        2,
        {"sample_from_model": [("    return x, x_hist", "    return x.clamp(-1, 1), x_hist")]},
    ),
    Case(
        "sampler that calls model.eval() and asks the model for its device",
        "12.6d",
        2,
        {
            "sample_from_model": [
                (
                    "    x_hist = []\n",
                    "    model.eval()\n    device = next(model.parameters()).device\n    x_hist = []\n",
                )
            ]
        },
    ),
    Case(
        "initial noise cell that calls model.eval() under inference_mode",
        "12.6d",
        2,
        {
            "initial_noise": [
                (
                    "x, x_hist = sample_from_model(x, model, beta)",
                    "model.eval()\nwith torch.inference_mode():\n    x, x_hist = sample_from_model(x, model, beta)",
                )
            ]
        },
    ),
    Case(
        "deterministic sampler under inference_mode, final clamp",
        "12.7c",
        2,
        {
            "deterministic_sample_from_model": [
                ("    with torch.no_grad():", "    model.eval()\n    with torch.inference_mode():"),
                ("    return x, x_hist", "    return torch.clamp(x, -1, 1), x_hist"),
            ]
        },
    ),
    Case(
        "conditional sampler that moves the model with .to(device).eval()",
        "12.8e",
        1,
        {
            "sample_from_model_conditional": [
                (
                    "    x_hist = []\n",
                    "    model = model.to(device).eval()\n    model.requires_grad_(False)\n    x_hist = []\n",
                )
            ]
        },
    ),
    Case(
        "label 3 after model_conditional.eval(), on the model's device",
        "12.8f",
        1,
        {
            "sample_label_3": (
                "model_conditional.eval()\n"
                "x = torch.randn(10, 1, 32, 32, device=next(model_conditional.parameters()).device)\n"
                "x, x_hist = sample_from_model_conditional(x, model_conditional, beta, label=3)\nplot_x_hist(x_hist)\n"
            )
        },
    ),
    Case(
        "label 3 one image at a time, keyword arguments",
        "12.8f",
        1,
        {
            "sample_label_3": (
                "images = []\nfor k in range(10):\n"
                "    x, _ = sample_from_model_conditional(x=torch.randn(1, 1, 32, 32), model=model_conditional, beta=beta, label=3)\n"
                "    images.append(x)\nx = torch.stack(images)[:, 0]\n"
            )
        },
    ),
    Case("every digit one image at a time", "12.8g", 1, {"sample_every_digit": [(EVERY, ONE_AT_A_TIME)]}),
    Case("every digit as one batch of 100 with a label per image", "12.8g", 1, {"sample_every_digit": BATCH_OF_100}),
    Case(
        "every digit under inference_mode after eval(), results rescaled for display",
        "12.8g",
        1,
        {
            "sample_every_digit": [
                ("x_per_class = []\n", "x_per_class = []\nmodel_conditional.eval()\n"),
                (EVERY, "    with torch.inference_mode():\n" + EVERY.replace("    x", "        x")),
                (
                    "x_per_class.append(x.detach().cpu().numpy())",
                    "x_per_class.append(((x.clamp(-1, 1) + 1) / 2).detach().cpu().numpy())",
                ),
            ]
        },
    ),
]

# --- Issue 21 / issue 24 (samplers): slips that the stand-ins accept but the provided models reject -----------
# Rubric decision (issue 24): a shape or type slip that makes the provided UNet/UNetConditional raise is a
# mistake in the item whose function holds it (-1 in 12.6d and 12.7c, 0 of 1 in 12.8e); 12.8f and 12.8g,
# whose cells only call the sampler, keep their points. What the provided models accept (a time step of
# shape (1,) broadcast over the batch, int32 labels, one label of shape (1,)) is no mistake.
T_LINE = "t = (torch.ones(x.shape[0]) * i).long().to(device)"
C_LINE = "c = (torch.ones(x.shape[0]) * label).long().to(device)"

MISTAKES += [
    Case(
        "0-dim time step torch.tensor(i), never expanded to the batch",
        "12.6d",
        1,
        {"sample_from_model": [(T_LINE, "t = torch.tensor(i)")]},
    ),
    Case(
        "x cast to float64 inside the sampler: the U-Net's float32 weights refuse it",
        "12.6d",
        1,
        {"sample_from_model": [("    x_hist = []\n", "    x_hist = []\n    x = x.double()\n")]},
    ),
    Case(
        "0-dim time step as_tensor(i, device=device)",
        "12.7c",
        1,
        {"deterministic_sample_from_model": [(T_LINE, "t = torch.as_tensor(i, device=device)")]},
    ),
    Case(
        "0-dim time step in the conditional sampler",
        "12.8e",
        0,
        {"sample_from_model_conditional": [(T_LINE, "t = torch.tensor(i, dtype=torch.long)")]},
    ),
    Case(
        "float labels torch.full((n,), float(label)): the embedding refuses them",
        "12.8e",
        0,
        {"sample_from_model_conditional": [(C_LINE, "c = torch.full((x.shape[0],), float(label))")]},
    ),
    Case(
        "the label passed to the model as a Python int",
        "12.8e",
        0,
        {"sample_from_model_conditional": [("model(x, t, c)", "model(x, t, label)")]},
    ),
]

ALTERNATIVES += [
    Case(
        "time step of shape (1,), broadcast by the U-Net",
        "12.6d",
        2,
        {"sample_from_model": [(T_LINE, "t = torch.tensor([i], device=device)")]},
    ),
    Case(
        "int32 labels",
        "12.8e",
        1,
        {"sample_from_model_conditional": [(C_LINE, "c = torch.full((x.shape[0],), label, dtype=torch.int32)")]},
    ),
    Case(
        "one label of shape (1,), broadcast by the U-Net",
        "12.8e",
        1,
        {"sample_from_model_conditional": [(C_LINE, "c = torch.tensor([label], device=device)")]},
    ),
    Case(
        "deterministic sampler with float time steps",
        "12.7c",
        2,
        {"deterministic_sample_from_model": [(T_LINE, "t = torch.full((x.shape[0],), float(i), device=device)")]},
    ),
]

# Issue 24: the loss's scale, slips that the provided models reject, and branches taken at random
# (training items; the sampler cases of issue 24 are in their own block). Rubric decisions:
# - 12.5c: a positive constant multiple of the MSE between the true and the estimated noise is the
#   right loss (Algorithm 1's per-image squared norm averaged over the batch, a sum over the batch
#   divided by its size, ½·MSE): with Adam it trains the same model. A multiple that changes from
#   batch to batch (a sum that grows with the batch size, weights per sample or per time step), other
#   targets, L1 and Huber are still wrong. evaluate must compute the loss in the same units as train
#   (its value is plotted beside the training loss): another multiple there is a mistake in evaluate.
# - Shape and type slips that make the provided UNet/UNetConditional raise (a float64 time step or
#   image, labels of shape (N, 1)) are mistakes in the function that holds them, even where the
#   grader's stand-in model accepts them: in train, the model point of 12.5c; in evaluate, its -1;
#   in 12.8c, the point.
# - 12.8c: train_conditional passes the batch's labels on every batch; dropping them on some batches
#   (classifier-free guidance) is a deviation (0 of 1), even when a run happens not to hit it.
# - Evaluation without torch.no_grad() is a mistake in the evaluation function (as before), and the
#   feedback names that function, not the training one.
TRAIN_LOSS = "loss = F.mse_loss(estimated_noise, noise)\n            ### END ANSWER\n\n            # Optimize"
TRAIN_MODEL = "estimated_noise = model(x_t, sampled_t.to(torch.float))\n\n"
EVAL_MODEL = "estimated_noise = model(x_t, sampled_t.to(torch.float))\n            loss"
COND_TRAIN_MODEL = "estimated_noise = model(x_t, sampled_t.to(torch.float), y)\n\n            # compute"
COND_TRAIN_LOSS = "loss = F.mse_loss(estimated_noise, noise)\n\n            # Optimize"
COND_EVAL_LOSS = "loss = F.mse_loss(estimated_noise, noise)\n\n            metrics.add"
COND_EVAL_HEAD = (
    "    with torch.no_grad():\n        model.eval()\n        metrics = Metrics(1)\n        for x, y in test_loader:"
)


def both_losses(new: str) -> list[tuple[str, str]]:
    """The same loss, written as ``new``, in train and in evaluate (12.5c)."""
    return [
        (TRAIN_LOSS, TRAIN_LOSS.replace("F.mse_loss(estimated_noise, noise)", new)),
        (EVAL_LOSS, EVAL_LOSS.replace("F.mse_loss(estimated_noise, noise)", new)),
    ]


ALTERNATIVES += [
    Case(
        "Algorithm 1's loss: per-image squared norm, averaged over the batch",
        "12.5c",
        3,
        {"train_and_evaluate": both_losses("(noise - estimated_noise).pow(2).sum(dim=(1, 2, 3)).mean()")},
    ),
    Case(
        "mse_loss(reduction='sum') divided by the batch size",
        "12.5c",
        3,
        {"train_and_evaluate": both_losses("F.mse_loss(estimated_noise, noise, reduction='sum') / x.shape[0]")},
    ),
    Case(
        "half the mean squared error, written with torch.mean",
        "12.5c",
        3,
        {"train_and_evaluate": both_losses("0.5 * torch.mean((estimated_noise - noise) ** 2)")},
    ),
    Case(
        "squared vector norm per image with torch.linalg",
        "12.5c",
        3,
        {
            "train_and_evaluate": both_losses(
                "torch.linalg.vector_norm(noise - estimated_noise, dim=(1, 2, 3)).square().mean()"
            )
        },
    ),
    Case(
        "conditional training with a helper step and the labels as a keyword",
        "12.8c",
        1,
        {
            "train_conditional": [
                (
                    "estimated_noise = model(x_t, sampled_t.to(torch.float), y)\n\n            # compute",
                    "estimated_noise = predict(model, x_t, sampled_t, y)\n\n            # compute",
                ),
                (
                    "estimated_noise = model(x_t, sampled_t.to(torch.float), y)\n            loss",
                    "estimated_noise = predict(model, x_t, sampled_t, y)\n            loss",
                ),
            ]
        },
        added=["def predict(model, x_t, t, y):\n    return model(x_t, t.float(), label=y)\n"],
    ),
    Case(
        "conditional per-image summed loss, evaluation as a @torch.no_grad() function",
        "12.8c",
        1,
        {
            "train_conditional": [
                (
                    COND_TRAIN_LOSS,
                    COND_TRAIN_LOSS.replace(
                        "F.mse_loss(estimated_noise, noise)", "((noise - estimated_noise) ** 2).sum((1, 2, 3)).mean()"
                    ),
                ),
                (
                    COND_EVAL_LOSS,
                    COND_EVAL_LOSS.replace(
                        "F.mse_loss(estimated_noise, noise)", "((noise - estimated_noise) ** 2).sum((1, 2, 3)).mean()"
                    ),
                ),
                ("def evaluate_conditional(", "@torch.no_grad()\ndef evaluate_conditional("),
                (COND_EVAL_HEAD, COND_EVAL_HEAD.replace("torch.no_grad()", "torch.inference_mode()")),
            ]
        },
    ),
]

MISTAKES += [
    Case(
        "Huber loss (smooth_l1_loss)",
        "12.5c",
        2,
        {"train_and_evaluate": both_losses("F.smooth_l1_loss(estimated_noise, noise)")},
    ),
    Case(
        "squared error weighted per sample by its time step",
        "12.5c",
        2,
        {
            "train_and_evaluate": both_losses(
                "((estimated_noise - noise) ** 2).mean(dim=(1, 2, 3)).mul(1 + sampled_t / 1000).mean()"
            )
        },
    ),
    Case(
        "per-image sums added over the batch, not averaged",
        "12.5c",
        2,
        {"train_and_evaluate": both_losses("(noise - estimated_noise).pow(2).sum(dim=(1, 2, 3)).sum()")},
    ),
    Case(
        "evaluate in other units than train (per-image sums against the mean)",
        "12.5c",
        2,
        {
            "train_and_evaluate": [
                (
                    TRAIN_LOSS,
                    TRAIN_LOSS.replace(
                        "F.mse_loss(estimated_noise, noise)",
                        "F.mse_loss(estimated_noise, noise, reduction='sum') / len(x)",
                    ),
                )
            ]
        },
    ),
    Case(
        "float64 time steps in train: the provided UNet raises",
        "12.5c",
        2,
        {"train_and_evaluate": [(TRAIN_MODEL, TRAIN_MODEL.replace("sampled_t.to(torch.float)", "sampled_t.double()"))]},
    ),
    Case(
        "float64 time steps in evaluate only",
        "12.5c",
        2,
        {
            "train_and_evaluate": [
                (EVAL_MODEL, EVAL_MODEL.replace("sampled_t.to(torch.float)", "sampled_t.to(torch.float64)"))
            ]
        },
    ),
    Case(
        "float64 time steps in train and evaluate: one mistake",
        "12.5c",
        2,
        {
            "train_and_evaluate": [
                (TRAIN_MODEL, TRAIN_MODEL.replace("sampled_t.to(torch.float)", "sampled_t.double()")),
                (EVAL_MODEL, EVAL_MODEL.replace("sampled_t.to(torch.float)", "sampled_t.double()")),
            ]
        },
    ),
    Case(
        "inline noise in float64, never cast back: the provided UNet raises",
        "12.5c",
        2,
        {
            "train_and_evaluate": [
                (
                    TRAIN_STEP,
                    "            sampled_t = torch.randint(0, len(beta), (len(x),))\n"
                    "            noise = torch.randn(x.shape, dtype=torch.float64)\n"
                    "            ab = torch.cumprod(1 - beta.double(), 0)[sampled_t][:, None, None, None]\n"
                    "            x_t = ab.sqrt() * x + (1 - ab).sqrt() * noise\n",
                )
            ]
        },
    ),
    Case(
        "classifier-free guidance: labels dropped on about 10 % of the batches",
        "12.8c",
        0,
        {
            "train_conditional": [
                (
                    COND_TRAIN_MODEL,
                    "labels = None if torch.rand(()).item() < 0.1 else y\n"
                    "            estimated_noise = model(x_t, sampled_t.to(torch.float), labels)\n\n            # compute",
                )
            ]
        },
    ),
    Case(
        "classifier-free guidance: a tenth of the labels masked to 0, per sample",
        "12.8c",
        0,
        {
            "train_conditional": [
                (
                    COND_TRAIN_MODEL,
                    "keep = torch.rand(y.shape[0]) >= 0.1\n"
                    "            estimated_noise = model(x_t, sampled_t.to(torch.float), torch.where(keep, y, torch.zeros_like(y)))\n\n"
                    "            # compute",
                )
            ]
        },
    ),
    Case(
        "labels of shape (N, 1): UNetConditional raises",
        "12.8c",
        0,
        {"train_conditional": [(COND_TRAIN_MODEL, COND_TRAIN_MODEL.replace(", y)", ", y.view(-1, 1))"))]},
    ),
    Case(
        "float64 time steps in train_conditional: UNetConditional raises",
        "12.8c",
        0,
        {
            "train_conditional": [
                (COND_TRAIN_MODEL, COND_TRAIN_MODEL.replace("sampled_t.to(torch.float)", "sampled_t.double()"))
            ]
        },
    ),
    Case(
        "evaluate_conditional without torch.no_grad()",
        "12.8c",
        0,
        {"train_conditional": [(COND_EVAL_HEAD, COND_EVAL_HEAD.replace("torch.no_grad()", "torch.enable_grad()"))]},
    ),
]
