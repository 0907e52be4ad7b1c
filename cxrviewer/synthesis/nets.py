"""The two generator / discriminator designs, at 128 x 128 px, one grey channel in [-1, 1].

``reference``: the conditional GAN of the CheXpert text-image study this app draws on. The
generator is a fully connected layer to a 16 x 16 map and three deconvolution blocks to
128 px, conditioned by concatenating the condition vector to the noise; the discriminator is a
CNN whose features are concatenated with the condition before its fully connected layers,
trained with binary cross-entropy.

``projection`` (ours): the same input, with what makes conditional GANs train stably and follow
their condition. Generator: a fully connected 4 x 4 start and five x2 sub-pixel stages to 128 px whose batch
norms take their gain and bias from the condition embedding and a slice of the noise
(conditional BN, hierarchical z as in BigGAN), on top of a learned conditional mean film (a base
film plus a linear map of the condition, started from the training films' ridge regression on
their conditions: the first steps already draw a chest with the asked findings where they lie,
and the network learns what a linear model cannot).
Discriminator: spectral normalisation on every layer, a projection term (the inner product of
the condition's embedding with the image features; Miyato & Koyama 2018) and an auxiliary
finding head (AC-GAN; Odena et al. 2017) trained on the real films' findings. Its features are
the last 4 x 4 map flattened, not pooled: a pooled map cannot tell a left effusion from a right
one, and then neither can the generator learn it. Hinge loss and an
exponential moving average of the generator's weights belong to the training
(:mod:`cxrviewer.synthesis.train`).

Widths are set for a CPU: the costs that count there are the tensors at 64 and 128 px, so the
stages compute on the smaller grid (PixelShuffle) and the 128 px output is one channel.
"""

from __future__ import annotations

import itertools
from typing import Any, cast

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import spectral_norm

ARCHS = ("projection", "reference")
SIZE = 128
TEMPLATE = 64  # resolution of the generator's conditional mean film


def to_unit(images: Any, device: torch.device) -> torch.Tensor:
    """uint8 films (n, S, S) -> (n, 1, S, S) float in [-1, 1]: what every network here reads."""
    return torch.from_numpy(images).to(device).float().div_(127.5).sub_(1.0).unsqueeze(1)


class ConditionalBatchNorm(nn.Module):
    """BatchNorm without its own affine parameters; gain and bias come from the condition."""

    def __init__(self, channels: int, embed: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Linear(embed, channels)
        self.bias = nn.Linear(embed, channels)
        for layer, start in ((self.gain, 1.0), (self.bias, 0.0)):
            nn.init.zeros_(layer.weight)
            nn.init.constant_(layer.bias, start)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * self.gain(e)[:, :, None, None] + self.bias(e)[:, :, None, None]


def _icnr(conv: nn.Conv2d, scale: int = 2) -> None:
    """Initialise a sub-pixel convolution so that its first output is a nearest-neighbour
    upsampling (ICNR; Aitken et al. 2017): no checkerboard at the start."""
    out = conv.out_channels // (scale * scale)
    base = torch.empty(out, conv.in_channels, *conv.kernel_size)
    nn.init.kaiming_normal_(base)
    with torch.no_grad():
        conv.weight.copy_(base.repeat_interleave(scale * scale, dim=0))


class UpStage(nn.Module):
    """x2 by a sub-pixel convolution (a convolution at the low resolution to 4x the channels, then
    PixelShuffle): the arithmetic of "upsample, then convolve" with the work done on the small grid."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * 4, 3, padding=1)
        _icnr(self.conv)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


class ProjectionGenerator(nn.Module):
    """(z, condition) -> (n, 1, 128, 128) in [-1, 1]."""

    def __init__(self, cond_dim: int, z_dim: int = 96, width: int = 16, embed: int = 128) -> None:
        super().__init__()
        self.z_dim, self.cond_dim = z_dim, cond_dim
        chans = [width * 16, width * 8, width * 4, width * 2, width]  # 4, 8, 16, 32, 64 px
        self.stages = len(chans) - 1
        self.chunk = z_dim // (self.stages + 1)
        self.embed = nn.Sequential(nn.Linear(cond_dim, embed), nn.ReLU(), nn.Linear(embed, embed))
        self.fc = nn.Linear(self.chunk + embed, chans[0] * 16)
        self.ups = nn.ModuleList(UpStage(a, b) for a, b in itertools.pairwise(chans))
        self.norms = nn.ModuleList(ConditionalBatchNorm(b, embed + self.chunk) for b in chans[1:])
        self.out = UpStage(chans[-1], 1)  # 64 -> 128 px, one grey channel
        self.base = nn.Parameter(torch.zeros(1, 1, SIZE, SIZE))  # the mean film (set_prior)
        self.templates = nn.Linear(cond_dim, TEMPLATE * TEMPLATE, bias=False)  # what each condition adds
        nn.init.zeros_(self.templates.weight)
        self.start = chans[0]

    def prior(self, c: torch.Tensor) -> torch.Tensor:
        """The conditional mean film (before tanh): base + a linear map of the condition, 64 -> 128 px."""
        t = self.templates(c).view(-1, 1, TEMPLATE, TEMPLATE)
        return self.base + F.interpolate(t, size=(SIZE, SIZE), mode="bilinear", align_corners=False)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        e = self.embed(c)
        zs = torch.split(z[:, :self.chunk * (self.stages + 1)], self.chunk, dim=1)
        h = self.fc(torch.cat([zs[0], e], 1)).view(-1, self.start, 4, 4)
        for up, norm, zc in zip(self.ups, self.norms, zs[1:]):
            h = F.relu(norm(up(h), torch.cat([e, zc], 1)))
        return torch.tanh(self.prior(c) + self.out(h))

    @torch.no_grad()
    def set_prior(self, films: torch.Tensor, conditions: torch.Tensor, ridge: float = 10.0) -> None:
        """Start from the training films' conditional mean: the base is their mean film and the
        templates the ridge regression of the films (64 px, before tanh) on their conditions, so
        a left effusion starts as a denser left base before the first step; the adversarial
        training then adds what a linear model cannot (texture, variety, sharp edges)."""
        y = torch.atanh(films.float().clamp(-0.98, 0.98))
        small = F.avg_pool2d(y, SIZE // TEMPLATE).flatten(1)
        c = conditions.float()
        c_mean, y_mean = c.mean(0, keepdim=True), small.mean(0, keepdim=True)
        cc, yc = c - c_mean, small - y_mean
        gram = cc.T @ cc + ridge * torch.eye(c.shape[1])
        weights = torch.linalg.solve(gram, cc.T @ yc)  # (cond_dim, TEMPLATE^2)
        self.templates.weight.copy_(weights.T)
        offset = F.interpolate((c_mean @ weights).view(1, 1, TEMPLATE, TEMPLATE), size=(SIZE, SIZE),
                               mode="bilinear", align_corners=False)
        self.base.copy_(y.mean(0, keepdim=True) - offset)


class ProjectionDiscriminator(nn.Module):
    """Image -> (realness, finding logits); realness = psi(phi(x)) + <embed(c), phi(x)>."""

    def __init__(self, cond_dim: int, n_aux: int, width: int = 16) -> None:
        super().__init__()
        chans = [1, width, width * 2, width * 4, width * 8, width * 16]  # 128 -> 64, 32, 16, 8, 4 px
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(chans):
            layers += [spectral_norm(nn.Conv2d(a, b, 4, 2, 1)), nn.LeakyReLU(0.2)]
        layers += [spectral_norm(nn.Conv2d(chans[-1], chans[-1], 3, padding=1)), nn.LeakyReLU(0.2)]
        self.conv = nn.Sequential(*layers)
        feat = chans[-1] * 16  # the 4 x 4 map flattened: where a finding lies (its side) stays known
        self.psi = spectral_norm(nn.Linear(feat, 1))
        self.project = spectral_norm(nn.Linear(cond_dim, feat))
        self.aux = nn.Linear(feat, n_aux) if n_aux else None  # not adversarial: no spectral norm needed

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.conv(x).flatten(1)
        realness = self.psi(h).squeeze(1) + (self.project(c) * h).sum(1)
        return realness, (self.aux(h) if self.aux is not None else None)


class ReferenceGenerator(nn.Module):
    """FC to 16 x 16, then three deconvolution blocks (16 -> 32 -> 64 -> 128 px); the condition is
    concatenated to the noise."""

    def __init__(self, cond_dim: int, z_dim: int = 100, width: int = 64) -> None:
        super().__init__()
        self.z_dim, self.cond_dim, self.width = z_dim, cond_dim, width
        self.fc = nn.Sequential(nn.Linear(z_dim + cond_dim, width * 16 * 16), nn.BatchNorm1d(width * 16 * 16),
                                nn.ReLU())
        chans = [width, width // 2, width // 4]
        layers: list[nn.Module] = []
        for cin, cout in itertools.pairwise(chans):
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.ReLU()]
        layers += [nn.ConvTranspose2d(chans[-1], 1, 4, 2, 1), nn.Tanh()]
        self.deconv = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.fc(torch.cat([z, c], 1)).view(-1, self.width, 16, 16))


class ReferenceDiscriminator(nn.Module):
    """Strided convolutions to an 8 x 8 map, flattened and concatenated with the condition, then
    two fully connected layers to one logit."""

    def __init__(self, cond_dim: int, width: int = 16) -> None:
        super().__init__()
        chans = [1, width, width * 2, width * 4, width * 8]
        layers: list[nn.Module] = []
        for i, (cin, cout) in enumerate(itertools.pairwise(chans)):
            layers.append(nn.Conv2d(cin, cout, 4, 2, 1))
            if i:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2))
        self.conv = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(chans[-1] * 8 * 8 + cond_dim, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.head(torch.cat([self.conv(x).flatten(1), c], 1)).squeeze(1), None


def build_generator(arch: str, cond_dim: int, width: int) -> nn.Module:
    if arch == "projection":
        return ProjectionGenerator(cond_dim, width=width)
    if arch == "reference":
        return ReferenceGenerator(cond_dim, width=width * 2)
    raise ValueError(f"arch must be one of {', '.join(ARCHS)}, not {arch!r}")


def build_discriminator(arch: str, cond_dim: int, n_aux: int, width: int) -> nn.Module:
    if arch == "projection":
        return ProjectionDiscriminator(cond_dim, n_aux, width=width)
    return ReferenceDiscriminator(cond_dim, width=width)


def z_dim(generator: nn.Module) -> int:
    """The noise size of either design's generator."""
    return int(cast(int, generator.z_dim))


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def describe(arch: str, generator: nn.Module) -> dict[str, Any]:
    return {"arch": arch, "parameters": n_params(generator)}
