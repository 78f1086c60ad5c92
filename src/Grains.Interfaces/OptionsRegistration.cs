using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Presence.Grains.Interfaces;

public static class OptionsRegistration
{
    /// <summary>Binds a configuration section, validated by its data annotations when the host starts.</summary>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions>(this IServiceCollection services, string section)
        where TOptions : class =>
        services.AddOptions<TOptions>().BindConfiguration(section).ValidateDataAnnotations().ValidateOnStart();
}
