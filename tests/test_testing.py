"""nbvi.testing.check_gradient: passes a right gradient, names the wrong partial of a wrong one."""
import numpy as np
import pytest

from nbvi.testing import check_gradient


def normal_logp(value, mu, sigma):
    z = (value - mu) / sigma
    return -0.5 * z ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def normal_grad(value, mu, sigma):
    z = (value - mu) / sigma
    return -z / sigma, z / sigma, (z ** 2 - 1.0) / sigma


Y = np.array([0.3, -1.2, 0.8])


def test_a_right_gradient_passes_with_broadcast_parameters():
    check_gradient(normal_logp, normal_grad, Y, 0.2, 1.3)
    check_gradient(normal_logp, normal_grad, Y, np.array([0.1, 0.0, -0.4]), np.array([[1.3], [0.7]]))


def test_a_wrong_partial_is_named_with_the_numbers():
    def wrong(value, mu, sigma):  # forgot the -1 of d/dsigma
        z = (value - mu) / sigma
        return -z / sigma, z / sigma, z ** 2 / sigma

    with pytest.raises(AssertionError, match=r"d logp / d sigma \(partial 2 of logp_grad\) is wrong") as info:
        check_gradient(normal_logp, wrong, Y, 0.2, 1.3)
    message = str(info.value)
    assert "finite differences give" in message and "relative error" in message


def test_a_wrong_element_is_located():
    def wrong(value, mu, sigma):
        g = -(value - mu) / sigma ** 2
        return g * np.array([1.0, 1.0, 2.0]), -g, ((value - mu) ** 2 / sigma ** 2 - 1.0) / sigma

    with pytest.raises(AssertionError, match=r"d logp / d value .* at index \(2,\).*1 of 3 elements"):
        check_gradient(normal_logp, wrong, Y, 0.2, 1.3)


def test_argument_errors():
    with pytest.raises(ValueError, match="3 partial derivatives"):
        check_gradient(normal_logp, lambda v, m, s: (v, m), Y, 0.2, 1.3)
    with pytest.raises(ValueError, match="not finite"):
        check_gradient(normal_logp, normal_grad, Y, 0.2, -1.0)
    with pytest.raises(ValueError, match="broadcast|shape"):
        check_gradient(normal_logp, normal_grad, Y, np.zeros(2), 1.0)
