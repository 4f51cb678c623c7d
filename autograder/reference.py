"""The reference answers of Assignment 12: the single source of truth for the checks.

Each function is the same code as the answer in ``source/assignment12/assignment12.ipynb``
(``tests/test_reference.py`` keeps them equal), so it keeps the notebook's conventions:
``sample_from_model_conditional`` and ``deterministic_sample_from_model`` read the
schedule ``alpha``/``alpha_bar`` and ``device`` as globals, as the notebook's do.
Shapes: ``x_0`` and ``x`` are ``(N, 1, 32, 32)``; ``t`` and labels are ``(N,)``.
"""
import time

import torch
from torch.nn import functional as F

from .provided import Metrics, Plotter, alpha, alpha_bar, device, progress


def noisy_sample_coefficients(t: torch.Tensor, beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scales of x_0 and of the noise in the closed form x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε (12.2a, 12.2c)."""
    alpha_bar = torch.cumprod(1.0 - beta, dim=0)
    return torch.sqrt(alpha_bar[t]), torch.sqrt(1 - alpha_bar[t])


def reverse_step_coefficients(t: torch.Tensor, beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scales (of x_t, of ε_θ, of z) in step 4 of Algorithm 2: x_{t-1} = a·x_t + b·ε_θ(x_t, t) + σ·z.

    ``t`` counts from 0 as in the notebook, and σ_t = √β_t except on the last step, where z = 0.
    """
    alpha = 1.0 - beta
    alpha_bar = torch.cumprod(alpha, dim=0)
    a = 1 / torch.sqrt(alpha[t])
    b = -a * (1 - alpha[t]) / torch.sqrt(1 - alpha_bar[t])
    sigma = torch.where(t > 0, torch.sqrt(beta[t]), torch.zeros_like(beta[t]))
    return a, b, sigma


def generate_noisy_samples(x_0, beta):
    '''
    Create noisy samples for the minibatch x_0.
    Return the noisy image, the noise, and the time for each sample.
    '''
    alpha = 1.0 - beta
    alpha_bar = torch.cumprod(alpha, dim=0)
    # sample a random time t for each sample in the minibatch
    t = torch.randint(beta.shape[0], size=(x_0.shape[0],), device=x_0.device)
    # generate random noise
    noise = torch.randn_like(x_0)
    # compute the noisy version for each sample
    x_t = torch.sqrt(alpha_bar[t, None, None, None]) * x_0 + \
        torch.sqrt(1 - alpha_bar[t, None, None, None]) * noise
    return x_t, noise, t


def train(model, data_loaders, beta, num_epochs=10, lr=1e-3, device=device):
    """Train a diffusion model"""
    train_loader = data_loaders['train']
    validation_loader = data_loaders['val']
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    plotter = Plotter(xlabel='epoch', xlim=[1, num_epochs],
                      legend=['train loss', 'validation loss'])
    start_time = time.time()

    for epoch in range(num_epochs):
        model.train()
        metrics = Metrics(1)

        for x, y in progress(train_loader, desc=f'epoch {epoch + 1}/{num_epochs}', unit='batch'):
            x = x.to(device)
            optimizer.zero_grad()

            # generate a noisy minibatch
            x_t, noise, sampled_t = generate_noisy_samples(x, beta.to(device))

            # use the model to estimate the noise
            estimated_noise = model(x_t, sampled_t.to(torch.float))

            # compute the difference between the noise and the estimated noise
            loss = F.mse_loss(estimated_noise, noise)

            # Optimize
            loss.backward()
            optimizer.step()

            # Track our progress
            metrics.add(len(x), loss.item())

        train_loss = metrics.mean()[0]

        # Compute validation loss
        validation_loss = evaluate(model, validation_loader, beta, device=device)

        # Plot
        plotter.add(epoch + 1, (train_loss, validation_loss))

    train_time = time.time() - start_time
    print(f'training loss {train_loss:.3g}, validation loss {validation_loss:.3g}')
    print(f'{metrics.count * num_epochs / train_time:.1f} examples/sec '
          f'on {str(device)}')


def evaluate(model, test_loader, beta, device=device):
    """Evaluate a diffusion model by computing the loss."""
    with torch.no_grad():
        model.eval()
        metrics = Metrics(1)
        for x, y in test_loader:
            x = x.to(device)

            x_t, noise, sampled_t = generate_noisy_samples(x, beta.to(device))
            estimated_noise = model(x_t, sampled_t.to(torch.float))
            loss = F.mse_loss(estimated_noise, noise)

            metrics.add(len(x), loss.item())
        return metrics.mean()[0]


def sample_from_model(x, model, beta, device=device):
    # keep track of x at different time steps
    x_hist = []
    alpha = 1.0 - beta
    alpha_bar = torch.cumprod(alpha, dim=0)
    with torch.no_grad():
        # loop over all time steps in reverse order
        for i in progress(reversed(range(0, beta.shape[0])), total=beta.shape[0], desc='sampling', unit='step'):
            # copy the time step for each sample in the minibatch
            t = (torch.ones(x.shape[0]) * i).long().to(device)
            # generate random noise for early time steps
            z = torch.randn_like(x) if i > 0 else torch.zeros_like(x)
            # define sigma as suggested in the paper
            sigma = torch.sqrt(beta[i])
            # compute the next x
            x = (1 / torch.sqrt(alpha[i])) * \
                (x - ((1 - alpha[i]) / torch.sqrt(1 - alpha_bar[i])) * model(x, t)) + \
                sigma * z
            if i % 100 == 0:
                x_hist.append(x.detach().cpu().numpy())
    return x, x_hist


def deterministic_sample_from_model(x, model, beta, device=device):
    # keep track of x at different time steps
    x_hist = []
    with torch.no_grad():
        # loop over all time steps in reverse order
        for i in reversed(range(0, beta.shape[0])):
            # copy the time step for each sample in the minibatch
            t = (torch.ones(x.shape[0]) * i).long().to(device)
            # compute the next x
            x = (1 / torch.sqrt(alpha[i])) * \
                (x - ((1 - alpha[i]) / torch.sqrt(1 - alpha_bar[i])) * model(x, t))
            # note: no sigma * z
            if i % 100 == 0:
                x_hist.append(x.detach().cpu().numpy())
    return x, x_hist


def train_conditional(model, data_loaders, beta, num_epochs=10, lr=1e-3, device=device):
    """Train a diffusion model"""
    train_loader = data_loaders['train']
    validation_loader = data_loaders['val']
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    plotter = Plotter(xlabel='epoch', xlim=[1, num_epochs],
                      legend=['train loss', 'validation loss'])
    start_time = time.time()

    for epoch in range(num_epochs):
        model.train()
        metrics = Metrics(1)

        for x, y in train_loader:
            x = x.to(device)
            y = y.to(device)
            optimizer.zero_grad()

            # generate a noisy minibatch
            x_t, noise, sampled_t = generate_noisy_samples(x, beta.to(device))

            # use the model to estimate the noise
            estimated_noise = model(x_t, sampled_t.to(torch.float), y)

            # compute the difference between the noise and the estimated noise
            loss = F.mse_loss(estimated_noise, noise)

            # Optimize
            loss.backward()
            optimizer.step()

            # Track our progress
            metrics.add(len(x), loss.item())

        train_loss = metrics.mean()[0]

        # Compute validation loss
        validation_loss = evaluate_conditional(model, validation_loader, beta)

        # Plot
        plotter.add(epoch + 1, (train_loss, validation_loss))

    train_time = time.time() - start_time
    print(f'training loss {train_loss:.3g}, validation loss {validation_loss:.3g}')
    print(f'{metrics.count * num_epochs / train_time:.1f} examples/sec '
          f'on {str(device)}')


def evaluate_conditional(model, test_loader, beta, device=device):
    """Evaluate a conditional diffusion model by computing the loss."""
    with torch.no_grad():
        model.eval()
        metrics = Metrics(1)
        for x, y in test_loader:
            x = x.to(device)
            y = y.to(device)

            x_t, noise, sampled_t = generate_noisy_samples(x, beta.to(device))
            estimated_noise = model(x_t, sampled_t.to(torch.float), y)
            loss = F.mse_loss(estimated_noise, noise)

            metrics.add(len(x), loss.item())
        return metrics.mean()[0]


def sample_from_model_conditional(x, model, beta, label):
    # keep track of x at different time steps
    x_hist = []
    with torch.no_grad():
        c = (torch.ones(x.shape[0]) * label).long().to(device)
        # loop over all time steps in reverse order
        for i in reversed(range(0, beta.shape[0])):
            # copy the time step for each sample in the minibatch
            t = (torch.ones(x.shape[0]) * i).long().to(device)
            # generate random noise for early time steps
            z = torch.randn_like(x) if i > 0 else torch.zeros_like(x)
            # define sigma as suggested in the paper
            sigma = torch.sqrt(beta[i])
            # compute the next x
            x = (1 / torch.sqrt(alpha[i])) * \
                (x - ((1 - alpha[i]) / torch.sqrt(1 - alpha_bar[i])) * model(x, t, c)) + \
                sigma * z
            if i % 100 == 0:
                x_hist.append(x.detach().cpu().numpy())
    return x, x_hist
