# SigV4 as AWS JSON services check it (issue 5, Build 1): every way a request can
# fail gets the __type and message AWS sends; what real signers send passes. The
# requests are signed in Perl by AWS::Signature4 (an independent signer).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Auth;

plan tests => 22, need_module('acmpca');

my $LIST = 'ListCertificateAuthorities';
my $A = key_of('A');

# ---- a good signature
{
    my $res = send_request(signed_request(A => $LIST, '{}'));
    is_api_ok($res, 'a request signed by AWS::Signature4 passes');
}

# ---- no signature at all
{
    my(undef, undef, $res) = api($LIST, {}, -module => AUTH_VHOST, -unsigned => 1);
    is_aws_error($res, 400, 'MissingAuthenticationTokenException', qr/^Missing Authentication Token$/,
                 'no Authorization: MissingAuthenticationTokenException');
}

# ---- an access key nobody knows
{
    my $res = send_request(signed_request(A => $LIST, '{}',
        credentials => { AccessKeyId => 'AKIDNOSUCHKEY0000000', SecretAccessKey => $A->{SecretAccessKey} }));
    is_aws_error($res, 400, 'UnrecognizedClientException',
                 qr/^The security token included in the request is invalid\.$/, 'unknown key: UnrecognizedClientException');
}

# ---- the wrong secret
{
    my $res = send_request(signed_request(A => $LIST, '{}',
        credentials => { AccessKeyId => $A->{AccessKeyId}, SecretAccessKey => 'x' . substr($A->{SecretAccessKey}, 1) }));
    is_aws_error($res, 400, 'InvalidSignatureException',
                 qr/^The request signature we calculated does not match the signature you provided\./,
                 'wrong secret: InvalidSignatureException');
}

# ---- malformed Authorization headers
for my $case (
    ['AWS4-HMAC-SHA256 Credential=' . $A->{AccessKeyId} . '/20260101/us-east-1/acm-pca/aws4_request, SignedHeaders=host;x-amz-date',
     qr/requires 'Signature' parameter/, 'no Signature'],
    ['AWS4-HMAC-SHA256 garbage', qr/missing equal-sign/, 'garbage'],
    ['Bearer abc', qr/Unsupported AWS 'algorithm'/, 'another scheme'],
    ['AWS4-HMAC-SHA256 Credential=' . $A->{AccessKeyId} . '/us-east-1/acm-pca/aws4_request, SignedHeaders=host, Signature=' . ('0' x 64),
     qr/exactly 5 slash-delimited elements/, 'a credential of four elements'],
) {
    my(undef, undef, $res) = api($LIST, {}, -module => AUTH_VHOST, -unsigned => 1,
                                 Authorization => $case->[0], 'X-Amz-Date' => amz_date());
    is_aws_error($res, 400, 'IncompleteSignatureException', $case->[1], "malformed ($case->[2]): IncompleteSignatureException");
}

# ---- the five-minute window
{
    my $res = send_request(signed_request(A => $LIST, '{}', date => time - 360));
    is_aws_error($res, 400, 'InvalidSignatureException',
                 qr/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
                 'signed 6 minutes ago: Signature expired');
    $res = send_request(signed_request(A => $LIST, '{}', date => time + 360));
    is_aws_error($res, 400, 'InvalidSignatureException', qr/^Signature not yet current: /,
                 'signed 6 minutes ahead: Signature not yet current');
    $res = send_request(signed_request(A => $LIST, '{}', date => time - 240));
    is_api_ok($res, 'signed 4 minutes ago: inside the window');
}

# ---- the scope
{
    my $res = send_request(signed_request(A => $LIST, '{}', region => 'eu-west-1'));
    is_aws_error($res, 400, 'InvalidSignatureException', qr/^Credential should be scoped to a valid region, not 'eu-west-1'\.$/,
                 'a scope of another region');
    # AWS::Signature4 takes the service from the host name; pin another one.
    no warnings 'redefine';
    local *ACMPCA::Test::Signer::_scope = sub {
        my($self, $request, $region) = @_;
        my($date) = $self->_datetime($request) =~ /^(\d+)T/;
        join '/', $date, 'us-east-1', 'acm', 'aws4_request';
    };
    $res = send_request(signed_request(A => $LIST, '{}'));
    is_aws_error($res, 400, 'InvalidSignatureException', qr/^Credential should be scoped to correct service: 'acm-pca'\.$/,
                 'a scope of another service');
}

# ---- changed after signing
{
    my $req = signed_request(A => $LIST, '{"MaxResults":10}');
    $req->content('{"MaxResults":11}');
    is_aws_error(send_request($req), 400, 'InvalidSignatureException', qr/does not match/, 'the body changed after signing');

    $req = signed_request(A => $LIST, '{}');
    $req->header('X-Amz-Target' => 'ACMPrivateCA.ListTags');
    is_aws_error(send_request($req), 400, 'InvalidSignatureException', qr/does not match/, 'a signed header changed after signing');

    $req = signed_request(A => $LIST, '{}');
    $req->header('X-Unsigned-Header' => 'added later');
    is_api_ok(send_request($req), 'a header added after signing (not signed) does not matter');
}

# ---- a replay inside the window is accepted, as on AWS
{
    my $req = signed_request(A => $LIST, '{}');
    is_api_ok(send_request($req->clone), 'a signed request ...');
    is_api_ok(send_request($req->clone), '... replayed: accepted too');
}

# ---- the Go SDK v2 header set: content-length, amz-sdk-invocation-id and
# amz-sdk-request are signed as well
{
    my $body = '{"MaxResults":5}';
    my $req = signed_request(A => $LIST, $body, headers => {
        'Content-Length'        => length $body,
        'Amz-Sdk-Invocation-Id' => '3a7e5b0c-7f0e-4d3e-9a55-2f1f6c1d9b01',
        'Amz-Sdk-Request'       => 'attempt=1; max=3',
        'User-Agent'            => 'aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22 md/GOOS#linux api/acmpca#1.30.0',
    });
    like($req->header('Authorization'), qr/SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;/,
         'the Go SDK header set is signed');
    is_api_ok(send_request($req), '... and accepted');
}

# ---- temporary credentials: the key's session token must come along
{
    my $t = key_of('TOKEN');
    my $res = send_request(signed_request(TOKEN => $LIST, '{}', headers => { 'X-Amz-Security-Token' => $t->{SessionToken} }));
    is_api_ok($res, 'a key with a session token, token sent and signed');
    $res = send_request(signed_request(TOKEN => $LIST, '{}'));
    is_aws_error($res, 400, 'UnrecognizedClientException', qr/security token/, '... without the token: UnrecognizedClientException');
}
