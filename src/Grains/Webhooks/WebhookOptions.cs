using System.ComponentModel.DataAnnotations;

namespace Presence.Grains.Webhooks;

/// <summary>Where room occupancy changes are posted (section <c>Webhooks</c>). No URL: none are sent.</summary>
public sealed class WebhookOptions : IValidatableObject
{
    public const string Section = "Webhooks";

    /// <summary>The receiver: an absolute http or https URL.</summary>
    public string? Url { get; set; }

    /// <summary>The HMAC-SHA256 key of the <c>X-Presence-Signature</c> header; required with a URL.</summary>
    public string? Secret { get; set; }

    /// <summary>The wait before the first retry; it doubles with each retry, up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(1, 60_000)]
    public int RetryDelayMilliseconds { get; set; } = 1000;

    /// <summary>With the default first delay, the retries go on for 1 + 2 + 4 + 8 + 6 x 15 = 105 s.</summary>
    public const int RetryAttempts = 10;

    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(15);

    public bool Enabled => !string.IsNullOrEmpty(Url);

    public TimeSpan RetryDelay => TimeSpan.FromMilliseconds(RetryDelayMilliseconds);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            yield break;
        }
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            yield return new ValidationResult("Webhooks:Url must be an absolute http or https URL.", [nameof(Url)]);
        }
        if (string.IsNullOrEmpty(Secret))
        {
            yield return new ValidationResult("Webhooks:Secret is required when Webhooks:Url is set.", [nameof(Secret)]);
        }
    }
}
