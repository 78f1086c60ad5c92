using System.ComponentModel.DataAnnotations;
using Presence.Grains.Webhooks;

namespace Presence.Grains.Tests;

public sealed class WebhookOptionsTests
{
    private static IEnumerable<string?> Invalid(WebhookOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results.SelectMany(result => result.MemberNames);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("https://hooks.example.com/presence", "secret")]
    [InlineData("http://localhost:8080/hooks", "secret")]
    public void Valid_NoUrl_OrAnHttpUrlWithASecret(string? url, string? secret) =>
        Assert.Empty(Invalid(new WebhookOptions { Url = url, Secret = secret }));

    [Theory]
    [InlineData("/hooks", "secret", nameof(WebhookOptions.Url))]
    [InlineData("ftp://example.com/hooks", "secret", nameof(WebhookOptions.Url))]
    [InlineData("not a url", "secret", nameof(WebhookOptions.Url))]
    [InlineData("https://hooks.example.com/presence", null, nameof(WebhookOptions.Secret))]
    [InlineData("https://hooks.example.com/presence", "", nameof(WebhookOptions.Secret))]
    public void Invalid_RelativeOrOtherScheme_OrMissingSecret(string url, string? secret, string member) =>
        Assert.Equal([member], Invalid(new WebhookOptions { Url = url, Secret = secret }));
}
